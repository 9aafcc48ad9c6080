"""The root command group, which imports a command's module only when that command is used.

The command modules import the engine (the SDK, pydantic, Rich's progress bars...), which takes
most of a second: ``reval --version`` and ``reval --help`` need none of it. ``reval --help``
lists the commands from ``COMMANDS``; ``reval run ...`` (or ``reval run --help``) imports just
``cli/run.py``, whose ``@app.command()`` registers the command, and builds it as Typer would.
A test checks that each help line here is the first paragraph of the command's own help.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_command_name, get_group_from_info

if TYPE_CHECKING:
    from typer import _click

# Command name → (the module that registers it, the help line `reval --help` shows), in the
# order `reval --help` lists them (Typer's: commands, then groups).
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("replicate_eval.cli.run", "Run the evals in CONFIG and print a results table."),
    "validate": (
        "replicate_eval.cli.validation",
        "Check CONFIG without running it: load it, render every prompt for every test, and "
        "check each provider's inputs against its model's schema. Exits 0 when clean "
        "(warnings allowed), 2 listing every problem otherwise. Makes no prediction.",
    ),
    "merge": (
        "replicate_eval.cli.merging",
        "Combine the results of `reval run --shard I/N` jobs into one, as if run at once.",
    ),
    "diff": (
        "replicate_eval.cli.diff",
        "Compare two runs: regressions, fixes, flaky and still-failing tests, new and removed "
        "ones, changed outputs and scores, and each prompt × provider's pass rate.",
    ),
    "init": (
        "replicate_eval.cli.starter",
        "Write a commented starter config: one model, two prompts, three tests.",
    ),
    "schema": (
        "replicate_eval.cli.starter",
        "Print the JSON Schema of reval's config file, for editors' YAML language servers.",
    ),
    "models": (
        "replicate_eval.cli.models",
        "Explore Replicate's public models: list or search them, show their inputs.",
    ),
    "cache": (
        "replicate_eval.cli.cache",
        "See or empty the response cache (successful outputs and model schemas, so that no "
        "call is paid twice).",
    ),
    "runs": (
        "replicate_eval.cli.runs",
        "List the runs in the run store (newest first), show one, or remove some.",
    ),
}


class Listed(TyperCommand):
    """A command as ``reval --help`` lists it, before its module is imported."""


class LazyGroup(TyperGroup):
    """Typer's group, with every command of ``COMMANDS`` known by name from the start (help,
    "did you mean"), and imported on first use."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        built = dict(self.commands)  # the commands whose module was imported already
        listed: dict[str, _click.Command] = {}
        for name, (_, short) in COMMANDS.items():
            found = built.pop(name, None)
            listed[name] = found or Listed(name, help=short, rich_markup_mode=self.rich_markup_mode)
        self.commands = {**listed, **built}
        self._listing = False

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = self.commands.get(cmd_name)
        if isinstance(command, Listed) and not self._listing:
            command = load_command(cmd_name)
            if command is not None:
                self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        # Listing the commands needs only their names and help lines.
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def load_command(name: str) -> _click.Command | None:
    """Import the command's module and build its command (or sub-group) as Typer would have;
    None if the module registers no such command (a mistake in ``COMMANDS``: the tests say so,
    and click answers "No such command")."""
    from replicate_eval.cli.common import app

    import_module(COMMANDS[name][0])
    short = app.pretty_exceptions_short
    mode = app.rich_markup_mode
    for info in app.registered_commands:
        if info.callback and (info.name or get_command_name(info.callback.__name__)) == name:
            return get_command_from_info(info, pretty_exceptions_short=short, rich_markup_mode=mode)
    for group in app.registered_groups:
        if group.name == name:
            return get_group_from_info(
                group,
                pretty_exceptions_short=short,
                suggest_commands=app.suggest_commands,
                rich_markup_mode=mode,
            )
    return None
