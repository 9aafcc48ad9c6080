"""Prompt templates: << >> by default, {{ }} on request, sandboxed, never re-rendering data."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any

import jinja2
import pytest

from replicate_eval import templating
from replicate_eval.errors import TemplateError
from replicate_eval.templating import Templates, curly_vars, time_limits
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate


def test_angle_syntax_renders_vars_blocks_and_comments() -> None:
    source = "<# greeting #>Hi <<name>>!<% for item in items %> [<<item>>]<% endfor %>"
    assert Templates().render(source, {"name": "Ada", "items": ["a", "b"]}) == "Hi Ada! [a] [b]"


def test_angle_syntax_leaves_curly_braces_alone() -> None:
    source = 'Reply as JSON: {"answer": "<<q>>"} and keep {{this}} and {% that %}'
    assert Templates().render(source, {"q": "why"}) == (
        'Reply as JSON: {"answer": "why"} and keep {{this}} and {% that %}'
    )


def test_curly_syntax_matches_promptfoo() -> None:
    source = "Generate an image: {{subject}}{% if style %} in {{style}}{% endif %}"
    rendered = Templates("curly").render(source, {"subject": "fruit loops", "style": "pop art"})
    assert rendered == "Generate an image: fruit loops in pop art"


@pytest.mark.parametrize("syntax", ["angle", "curly"])
def test_var_values_are_never_rendered_again(syntax: str) -> None:
    templates = Templates(syntax)  # type: ignore[arg-type]
    source = "Q: <<q>>" if syntax == "angle" else "Q: {{q}}"
    injected = "<<secret>> {{secret}} <% raise %> {% raise %}"
    assert templates.render(source, {"q": injected, "secret": "leak"}) == f"Q: {injected}"


def test_missing_vars_are_named_with_what_the_test_has() -> None:
    with pytest.raises(TemplateError) as caught:
        Templates().render("<<a>> <<b>> <<c>>", {"a": 1})
    assert str(caught.value) == "missing vars `b`, `c` (this test defines: a)"


def test_vars_set_inside_the_template_are_not_required() -> None:
    assert Templates().render("<% set x = 2 %><<x>><<y>>", {"y": 3}) == "23"


def test_missing_attribute_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="undefined"):
        Templates().render("<<user.name>>", {"user": {}})


def test_mappings_and_lists_render_as_json() -> None:
    rendered = Templates().render("<<data>> <<items>>", {"data": {"a": "é"}, "items": [1, 2]})
    assert rendered == '{"a": "é"} [1, 2]'


def test_sandbox_blocks_unsafe_access() -> None:
    with pytest.raises(TemplateError):
        Templates().render("<<x.__class__.__mro__[1].__subclasses__()>>", {"x": ""})


def test_syntax_problems_are_reported_not_raised() -> None:
    problem = Templates().check("line one\n<% if x %>")
    assert problem is not None and problem.line == 2
    assert Templates().check("fine <<x>>") is None


def test_curly_vars_only_names_defined_vars() -> None:
    assert curly_vars("{{ topic }} {{other}} {{topic}}", ["topic"]) == ["topic"]


# --- a template is code: its mistakes and excesses are the cell's error ------------------------
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<<1/0>>", "the template raised ZeroDivisionError"),
        ("<<topic + 1>>", "the template raised TypeError"),
        ("<<'a' * 10**10>>", "more than the 10,000,000 a template may make"),
        ("<<'x'|center(10**10)>>", "more than the 10,000,000"),
        ("<<'x'.ljust(10**10)>>", "more than the 10,000,000"),
        ("<<'%*d' % (10**10, 1)>>", "more than the 10,000,000"),
        ("<<2 ** (10**9)>>", "a number too large to compute"),
        ("<<range(10**9)|list>>", "The sandbox blocks ranges"),
        ("<% for i in range(99999) %><<'x' * 1000>><% endfor %>", "more than the 10,000,000"),
        ("<% macro f() %><<f()>><% endmacro %><<f()>>", "recurses too deeply"),
        ("<<topic.__class__.__mro__>>", "template error"),
    ],
)
def test_template_runtime_errors_are_template_errors(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        Templates().render(source, {"topic": "cats"})


def test_a_template_that_runs_too_long_is_stopped() -> None:
    started = time.monotonic()
    endless = "<% for i in range(99999) %><% for j in range(99999) %><% endfor %><% endfor %>"
    with pytest.raises(TemplateError, match="did not finish within 2 s"):
        Templates().render(endless, {})
    assert time.monotonic() - started < 10
    assert Templates().render("still <<fine>>", {"fine": "works"}) == "still works"


def test_one_handler_serves_many_renders_and_the_program_s_own_comes_back() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        endless = "<% for i in range(99999) %><% for j in range(99999) %><% endfor %><% endfor %>"
        templates = Templates()
        with time_limits():
            assert signal.getsignal(signal.SIGALRM) is not mine
            assert templates.render("<<n>>", {"n": 1}) == "1"
            with pytest.raises(TemplateError, match="did not finish within 2 s"):
                templates.render(endless, {})
            assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # disarmed after each
        assert signal.getsignal(signal.SIGALRM) is mine
        templates.render("<<n>>", {"n": 1})  # alone: installs and restores its own
        assert signal.getsignal(signal.SIGALRM) is mine
    finally:
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("text", ["ok", "ok\n", "two\nlines\n\n", "a\r\nb", "50% > 3 >> 2", ""])
def test_text_without_template_markers_renders_once_as_jinja_would(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = jinja2.Environment().from_string(text).render()  # a trailing newline goes
    templates = Templates()
    assert templates.render(text, {}) == expected
    renders: list[object] = []
    original = templating._bounded_render
    monkeypatch.setattr(templating, "_bounded_render", lambda *a: renders.append(a) or original(*a))
    for n in range(3):
        assert templates.render(text, {"n": n}) == expected
    assert renders == []  # the constant was kept, not rendered per test
    assert templates.render("case <<n>>", {"n": 7}) == "case 7" and len(renders) == 1


def test_a_broken_template_errors_its_cells_and_the_run_goes_on(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    run = run_config(
        {
            "prompts": ["<<1/n>>"],
            "providers": ["replicate:meta/llama"],
            "tests": [
                {"description": "zero", "vars": {"n": 0}},
                {"description": "two", "vars": {"n": 2}},
            ],
        }
    )
    assert run.result.exit_code == 100
    zero, two = run.cells
    assert zero["status"] == "error"
    assert "prompt `<<1/n>>`: the template raised ZeroDivisionError" in zero["error"]
    assert two["status"] == "passed"
    assert "internal error" not in run.result.stderr


def test_the_plan_is_built_once_per_run_and_validation(
    llama: FakeReplicate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rendering 10,000 tests takes half a second: the preflight and the run share one plan.
    from replicate_eval import api, plan, preflight_config, runner

    built: list[int] = []

    def counted(config: Any, **options: Any) -> Any:
        built.append(len(config.tests))
        return plan.build_plan(config, **options)

    for module in (api, preflight_config, runner):
        monkeypatch.setattr(module, "build_plan", counted)
    config = api.load(
        {
            "prompts": ["hi <<n>>"],
            "providers": ["replicate:meta/llama"],
            "tests": [{"vars": {"n": 1}}],
        },
        base_dir=tmp_path,
    )
    assert api.validate(config, cache=False).ok
    assert built == [1]
    result = api.evaluate(config, api.EvalOptions(cache=False, output_dir=tmp_path / "out"))
    assert result.totals.passed == 1
    assert built == [1, 1]
