"""One exception hierarchy: every error reval raises on purpose is a RevalError, drawn in
errors.py's docstring, and no bare ValueError or RuntimeError is raised for control flow."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import replicate_eval
from replicate_eval import errors
from replicate_eval.errors import RevalError

PACKAGE = Path(replicate_eval.__file__).parent

# Exception classes that are not RevalErrors on purpose, and why.
NOT_REVAL_ERRORS = {
    "replicate_eval.usercode.worker.CheckProblem": (
        "defined in the worker process, which imports nothing of reval's to start fast; "
        "the pool and the python check turn it into an AssertionProblem"
    ),
    "replicate_eval.config.json_values._Refused": (
        "private: a refused JSON token, turned into BadJson in the same function"
    ),
    "replicate_eval.providers.replicate.api._UnreadableResponse": (
        "private: carries the body the SDK choked on to the ReplicateApi method that reads it"
    ),
    "replicate_eval.templating._Overrun": (
        "private: a template past a limit, turned into a TemplateError by the renderer"
    ),
}

# Files that still raise a bare builtin error, and why.
BARE_RAISES_ALLOWED: dict[str, str] = {}
BUILTIN_ERRORS = {"ValueError", "RuntimeError", "KeyError", "TypeError", "LookupError", "Exception"}
PYDANTIC_VALIDATORS = {"field_validator", "model_validator", "validator", "root_validator"}


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(replicate_eval.__path__, "replicate_eval."):
        if module_info.name.endswith("__main__"):
            continue  # running it is the CLI
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_exception_class_of_reval_is_a_reval_error() -> None:
    classes = _exception_classes()
    assert "replicate_eval.errors.ConfigError" in classes  # the walk found the package
    strays = [
        name
        for name, cls in classes.items()
        if not issubclass(cls, RevalError) and name not in NOT_REVAL_ERRORS
    ]
    assert strays == [], "derive these from RevalError (or list them with a reason)"
    assert set(NOT_REVAL_ERRORS) <= set(classes), "an exception listed here no longer exists"


def test_the_docstring_of_errors_draws_every_reval_error() -> None:
    tree = errors.__doc__ or ""
    drawn = {"RevalError", *re.findall(r"[├└]── (\w+)", tree)}
    named = {cls.__name__ for cls in _exception_classes().values() if issubclass(cls, RevalError)}
    assert named - drawn == set(), "draw these in errors.py's docstring"
    assert drawn - named == set(), "errors.py's docstring draws classes that do not exist"


def _bare_raises(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of each ``raise ValueError(...)``-like statement outside pydantic
    validators (which must raise ValueError for pydantic to report it)."""
    found = []

    def visit(node: ast.AST, in_validator: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            decorators = {
                ast.unparse(d.func if isinstance(d, ast.Call) else d).split(".")[-1]
                for d in node.decorator_list
            }
            in_validator = in_validator or bool(decorators & PYDANTIC_VALIDATORS)
        if isinstance(node, ast.Raise) and node.exc is not None and not in_validator:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id in BUILTIN_ERRORS:
                found.append((node.lineno, raised.id))
        for child in ast.iter_child_nodes(node):
            visit(child, in_validator)

    visit(tree, False)
    return found


def test_no_bare_builtin_error_is_raised_for_control_flow() -> None:
    bare = [
        f"{path.relative_to(PACKAGE)}:{line}: raise {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name not in BARE_RAISES_ALLOWED
        for line, name in _bare_raises(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert bare == [], "raise a RevalError subclass (errors.py) instead"


def test_the_bare_raise_finder_sees_one_and_spares_validators() -> None:
    source = (
        "def f():\n    raise ValueError('x')\n"
        "@field_validator('a')\ndef g(cls, v):\n    raise ValueError('pydantic wants this')\n"
        "def h():\n    raise KeyboardInterrupt\n"
    )
    assert _bare_raises(ast.parse(source)) == [(2, "ValueError")]
