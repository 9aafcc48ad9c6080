"""Every limit config loading enforces, in one place, with why.

Loading refuses what could not be represented or processed later (results are JSON; a cell
must not crash after its prediction was paid for), and what would hang or exhaust memory
before the first prediction. Each limit is far above what a real config needs.
"""

from __future__ import annotations

# Nesting of collections (mappings and lists, aliases expanded) in the config and in YAML,
# JSON and JSONL test files, counted from the top of the file. Results are JSON: writers and
# readers recurse per level, and values nested a few hundred deep crash them.
MAX_DEPTH = 64

# The config file and each tests file (CSV, JSON, JSONL, YAML). 100,000 inline tests are
# about 15 MiB of YAML.
MAX_CONFIG_FILE_BYTES = 64 * 1024 * 1024

# A prompt file or a `file://` var file: its text is sent to a model.
MAX_TEXT_FILE_BYTES = 16 * 1024 * 1024

# YAML aliases (`*name`, `<<: *defaults`) repeat a node without copying it in the file, so a
# small file can stand for billions of values ("billion laughs"). A file may expand to at most
# this many values (scalars, lists and mappings) plus ALIAS_VALUES_PER_CHARACTER per character
# of the file: 100,000 tests each merging 20-value defaults stay far below it.
MIN_EXPANDED_VALUES = 200_000
ALIAS_VALUES_PER_CHARACTER = 10

# Python cannot turn an integer of more decimal digits into text by default
# (sys.get_int_max_str_digits), so it could never be written in results.
MAX_INT_DIGITS = 4300

# Directory entries a prompt glob (`file://prompts/**/*.txt`) may look at before it is
# refused, so that `file:///**` cannot walk the whole file system.
MAX_GLOB_ENTRIES = 100_000
# Tests one test's list vars may make (promptfoo makes one per combination of their items).
MAX_VAR_COMBINATIONS = 100_000
# Tests promptfoo's `scenarios` may make (each data item of a scenario runs all its tests).
MAX_SCENARIO_TESTS = 100_000
