"""Untrusted text made safe to print: model outputs, errors and logs are data, never commands.

A terminal obeys escape sequences wherever they come from: a model's output could clear the
screen (CSI 2J), retitle the window or plant a hyperlink (OSC 0, OSC 8), write the clipboard
(OSC 52), or ask the terminal to type an answer back (CSI 6n). ``printable`` removes them, and
shows any other control character but newline and tab as U+FFFD (the text had something
there). Rich does not do this: its ``strip_control_codes`` drops only BEL, BS, VT, FF and CR,
and passes ESC through.

The sequence grammar is ECMA-48's (5th edition, sections 5.4 and 5.6): CSI is ESC ``[`` (or the
8-bit 0x9B), parameter bytes 0x30-0x3F, intermediate bytes 0x20-0x2F and one final byte
0x40-0x7E; OSC, DCS, SOS, PM and APC strings run to the String Terminator (ESC ``\\`` or 0x9C),
and xterm also ends OSC with BEL. A string left unterminated loses only its introducer: what
follows is then plain text, which is harmless.
"""

from __future__ import annotations

import re

_STRING_TERMINATOR = r"(?:\x1b\\|\x9c|\x07)"
_SEQUENCE = re.compile(
    # OSC, DCS, SOS, PM, APC, in their 7-bit (ESC ] P X ^ _) and 8-bit forms, to their end.
    rf"(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f]).*?{_STRING_TERMINATOR}"
    # CSI, 7-bit and 8-bit.
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    # Any other escape sequence (ESC c resets the terminal, ESC ( 0 switches character sets).
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]",
    re.DOTALL,
)
# What is left after them: C0 controls but tab and newline, DEL, the C1 controls (a lone ESC
# too), and the halves of surrogate pairs that JSON can spell (\ud800) but UTF-8 cannot.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` without terminal escape sequences, its other control characters (and half
    surrogate pairs, which would stop the print with an encoding error) shown as U+FFFD; a
    carriage return, which would let a line overwrite the one before it, is a line break."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNPRINTABLE.sub("\ufffd", _SEQUENCE.sub("", text))
