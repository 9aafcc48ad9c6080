"""The ``reval`` command's first moments: a stop is handled before anything heavy is imported.

Importing the command line (Typer, Rich, the SDK...) takes most of a second; Ctrl-C or SIGTERM
in that time must end reval quietly with exit code 130, not with a traceback. This module
imports only the standard library.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

INTERRUPTED = 130


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def install_stop_handlers() -> None:
    """SIGTERM (a CI timeout, `kill`) and SIGHUP (a closed terminal) stop reval like Ctrl-C:
    as a KeyboardInterrupt, which every stage turns into a clean stop. The run itself replaces
    these with its own handlers (cancel predictions, write the results so far)."""
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main() -> None:
    try:
        install_stop_handlers()
        from replicate_eval.cli.common import main as run_command_line

        run_command_line()
    except KeyboardInterrupt:
        stopped()


def stopped() -> None:
    """Exit 130 with one line, whatever was going on."""
    for stream, text in ((sys.stdout, ""), (sys.stderr, "\nInterrupted.\n")):
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass
    # Not sys.exit: nothing more may run (and be interrupted again) on the way out.
    os._exit(INTERRUPTED)
