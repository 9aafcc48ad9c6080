"""The ``reval`` command line. Importing the command modules registers their commands, in the
order ``reval --help`` lists them."""

# isort: off
from replicate_eval.cli import run, validation, models, cache, merging, starter  # noqa: F401

# isort: on
from replicate_eval.cli.common import app, main
from replicate_eval.exit_codes import ExitCode

__all__ = ["ExitCode", "app", "main"]
