"""Prompt templates: Jinja2 in a sandbox with ``<< >>`` delimiters.

Angle delimiters keep ``{{ }}``, ``{% %}`` and ``{# #}`` free for the prompt text itself (JSON,
code, other template languages). ``template_syntax: curly`` switches to Jinja's usual delimiters
so promptfoo configs run verbatim. Var values are inserted as text and never rendered again.

A template is the config's code, and rendering it runs it: a mistake (``<<1/0>>``, a string plus
a number) is that cell's error, and so is a template past the limits below, checked as it runs
(sizes) and by a timer (time, when rendering on the main thread: a signal interrupts the loop).
"""

from __future__ import annotations

import functools
import json
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from replicate_eval.errors import TemplateError

# A rendered template (a prompt, an assertion value) holds at most this many characters, and
# no single value made while rendering is larger: `'a' * 10**10` is refused, not allocated.
RENDER_MAX_CHARS = 10_000_000
# Seconds one rendering may take.
RENDER_TIME_LIMIT = 2.0

TemplateSyntax = Literal["angle", "curly"]

_DELIMITERS: dict[TemplateSyntax, dict[str, str]] = {
    "angle": {
        "variable_start_string": "<<",
        "variable_end_string": ">>",
        "block_start_string": "<%",
        "block_end_string": "%>",
        "comment_start_string": "<#",
        "comment_end_string": "#>",
    },
    "curly": {},
}


def _finalize(value: Any) -> Any:
    # A mapping or list var reads better (and parses) as JSON than as a Python repr.
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _dump(value: Any, spaces: int | str | None = None) -> str:
    """Nunjucks' ``dump``: JavaScript's ``JSON.stringify(value, null, spaces)``, compact
    without ``spaces``, non-ASCII text kept."""
    indent = spaces or None
    separators = (",", ": ") if indent else (",", ":")
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)


def _nl2br(value: Any) -> str:
    """Nunjucks' ``nl2br``: each line break becomes ``<br />`` and a newline."""
    return re.sub(r"\r\n|\n", "<br />\n", str(value))


@dataclass(frozen=True)
class TemplateSyntaxProblem:
    line: int | None
    message: str


class _Overrun(Exception):
    """A template went past a limit; the message says which."""


def _too_big(size: int) -> _Overrun:
    return _Overrun(
        f"it would make a value of {size:,} characters or items, more than the "
        f"{RENDER_MAX_CHARS:,} a template may make"
    )


def _sized(value: Any) -> Any:
    if isinstance(value, (str, bytes, list, tuple, dict)) and len(value) > RENDER_MAX_CHARS:
        raise _too_big(len(value))
    return value


# Filters and methods whose number argument is the size of what they make.
_SIZE_ARGUMENTS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "indent", "wordwrap", "truncate", "batch"}
)


_WIDTH = re.compile(r"\d{8,}")


def _check_widths(text: Any) -> None:
    """A format string's own widths (`'%0999999999d'`, `'{:>999999999}'`) make big values too."""
    if isinstance(text, str):
        for digits in _WIDTH.findall(text):
            if int(digits) > RENDER_MAX_CHARS:
                raise _too_big(int(digits))


def _check_sizes(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    if name in ("format", "format_map"):
        for value in args:
            _check_widths(value)
        return
    if name not in _SIZE_ARGUMENTS:
        return
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > RENDER_MAX_CHARS:
            raise _too_big(value)


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps jinja's pass_context/pass_environment marks
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_sizes(name, args, kwargs)
        return _sized(function(*args, **kwargs))

    return guarded


class _BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with repetition and powers checked before they are computed."""

    # Also keeps Jinja from folding these at compile time (when the config is loaded).
    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # Nunjucks' filters that Jinja lacks, which promptfoo configs use.
        self.filters.update(dump=_dump, nl2br=_nl2br)
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
                    _sized_product(len(sequence), count)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            bits = abs(right) * max(abs(left), 2).bit_length()
            if right > 0 and bits > 4 * RENDER_MAX_CHARS:
                raise _Overrun(f"{left} ** {right} is a number too large to compute")
        elif operator == "%":
            _check_widths(left)
            for value in right if isinstance(right, tuple) else (right,):
                if isinstance(value, int) and value > RENDER_MAX_CHARS:
                    raise _too_big(value)
        return _sized(super().call_binop(context, operator, left, right))

    def call(self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "")
        _check_sizes(name, args, kwargs)
        if name in ("format", "format_map"):
            _check_widths(getattr(__obj, "__self__", None))  # the string of `'...'.format()`
        return _sized(super().call(__context, __obj, *args, **kwargs))


def _sized_product(length: int, count: int) -> None:
    if length * max(count, 0) > RENDER_MAX_CHARS:
        raise _too_big(length * count)


# SIGALRM handlers installed by `time_limits()`, outermost first: while one is, a render only
# arms the timer (installing a handler per render cost more than rendering a short prompt).
_installed: list[Any] = []


def _expire(signum: int, frame: Any) -> None:
    raise _Overrun(f"it did not finish within {RENDER_TIME_LIMIT:g} s")


@contextmanager
def time_limits() -> Iterator[None]:
    """Around many renders (a plan of 10,000 tests): the handler of their time limit is
    installed once. Restores the program's own SIGALRM handler afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _expire)
    _installed.append(previous)
    try:
        yield
    finally:
        _installed.pop()
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (on the main thread only: signals go there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if not _installed:
        with time_limits(), _time_limit(seconds):
            yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


class Templates:
    """Compiles each template source once and renders it for many tests."""

    def __init__(self, syntax: TemplateSyntax = "angle") -> None:
        self.syntax = syntax
        self._env = _BoundedEnvironment(
            undefined=_OptionalUndefined,
            autoescape=False,
            finalize=_finalize,
            **_DELIMITERS[syntax],
        )
        self._compiled: dict[str, tuple[jinja2.Template, frozenset[str], frozenset[str]]] = {}
        # Sources that are plain text to Jinja (no var, no block): their one output, by source.
        self._constant: dict[str, str] = {}

    def check(self, source: str) -> TemplateSyntaxProblem | None:
        """A syntax problem in ``source``, or None when it compiles."""
        try:
            self._compile(source)
        except jinja2.TemplateSyntaxError as exc:
            return TemplateSyntaxProblem(exc.lineno, exc.message or str(exc))
        except (_Overrun, RecursionError, MemoryError) as exc:
            return TemplateSyntaxProblem(None, f"the template cannot be compiled: {exc}")
        return None

    def variables(self, source: str) -> frozenset[str]:
        """The vars ``source`` reads from the test (names it sets itself are excluded)."""
        return self._compile(source)[1]

    def render(self, source: str, variables: Mapping[str, Any]) -> str:
        constant = self._constant.get(source)
        if constant is not None:
            return constant
        template, _, needed = self._compile(source)
        missing = sorted(needed - variables.keys())
        if missing:
            names = ", ".join(f"`{name}`" for name in missing)
            defined = ", ".join(sorted(variables)) or "none"
            noun = "var" if len(missing) == 1 else "vars"
            raise TemplateError(f"missing {noun} {names} (this test defines: {defined})")
        try:
            with _time_limit(RENDER_TIME_LIMIT):
                return _bounded_render(template, variables)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"undefined value in template: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template error: {exc}") from None
        except _Overrun as exc:
            raise TemplateError(f"the template was stopped: {exc}") from None
        except RecursionError:
            raise TemplateError(
                "the template recurses too deeply (a macro calling itself?)"
            ) from None
        except MemoryError:
            raise TemplateError("the template ran out of memory") from None
        except Exception as exc:  # the template's own mistake: `<<1/0>>`, `<<topic + 1>>`
            raise TemplateError(f"the template raised {type(exc).__name__}: {exc}") from None

    def _compile(self, source: str) -> tuple[jinja2.Template, frozenset[str], frozenset[str]]:
        """The template, the vars it reads, and those it cannot do without."""
        compiled = self._compiled.get(source)
        if compiled is None:
            ast = self._env.parse(source)
            variables = frozenset(meta.find_undeclared_variables(ast))
            compiled = (self._env.from_string(ast), variables, _required(ast, variables))
            self._compiled[source] = compiled
            if _only_text(ast):  # the same output for every test: rendered once, here
                self._constant[source] = _bounded_render(compiled[0], {})
        return compiled


class _OptionalUndefined(jinja2.StrictUndefined):
    """Strict everywhere (printing, arithmetic, attributes) but in a truth test: a var that is
    not set is false in `{% if context %}`, as promptfoo's templates expect."""

    def __bool__(self) -> bool:  # type: ignore[override]  # StrictUndefined's raises
        return False


def _required(ast: jinja2.nodes.Template, variables: frozenset[str]) -> frozenset[str]:
    """The vars a render needs: all it reads but those only read as optional, promptfoo's way:
    `x | default('...')`, `x is defined`, `{% if x %}` and what that `if` holds for `x`."""
    guarded: set[int] = set()

    def guard(name: str, inside: jinja2.nodes.Node) -> None:
        guarded.update(id(n) for n in inside.find_all(jinja2.nodes.Name) if n.name == name)

    for node in ast.find_all((jinja2.nodes.Filter, jinja2.nodes.Test)):
        if isinstance(node, jinja2.nodes.Filter):
            optional = node.name in ("default", "d")
        else:
            optional = node.name in ("defined", "undefined")
        if optional and isinstance(node.node, jinja2.nodes.Name):
            guarded.add(id(node.node))
    for branch in ast.find_all(jinja2.nodes.If):
        test = branch.test
        if isinstance(test, jinja2.nodes.Test) and test.name == "defined":
            test = test.node
        if isinstance(test, jinja2.nodes.Name):
            guarded.add(id(test))
            for child in branch.body:
                guard(test.name, child)
    return frozenset(
        name.name
        for name in ast.find_all(jinja2.nodes.Name)
        if name.ctx == "load" and name.name in variables and id(name) not in guarded
    )


def _only_text(ast: jinja2.nodes.Template) -> bool:
    """A template of literal text only (an assertion's `ok`, a prompt without vars)."""
    return all(
        isinstance(node, jinja2.nodes.Output)
        and all(isinstance(part, jinja2.nodes.TemplateData) for part in node.nodes)
        for node in ast.body
    )


def _bounded_render(template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    """Render, counting characters as they come: a loop cannot fill the memory."""
    parts: list[str] = []
    size = 0
    for part in template.generate(variables):
        size += len(part)
        if size > RENDER_MAX_CHARS:
            raise _too_big(size)
        parts.append(part)
    return "".join(parts)


def may_be_template(text: str) -> bool:
    """True when ``text`` holds markers of either syntax: check its value only once rendered."""
    return any(marker in text for marker in ("<<", "<%", "{{", "{%"))


_CURLY_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def curly_vars(source: str, var_names: Iterable[str]) -> list[str]:
    """Names of defined vars written as ``{{name}}``: under angle syntax they stay literal text."""
    defined = set(var_names)
    return sorted({name for name in _CURLY_VAR.findall(source) if name in defined})
