"""The ``reval`` command line. The commands' modules are imported when a command is used
(``cli/lazy.py`` lists them, in the order ``reval --help`` shows them)."""

from replicate_eval.cli.common import app, main
from replicate_eval.exit_codes import ExitCode

__all__ = ["ExitCode", "app", "main"]
