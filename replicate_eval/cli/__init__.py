"""The ``reval`` command line. Importing the command modules registers their commands."""

from replicate_eval.cli import cache, merging, models, run, starter, validation  # noqa: F401
from replicate_eval.cli.common import ExitCode, app, main

__all__ = ["ExitCode", "app", "main"]
