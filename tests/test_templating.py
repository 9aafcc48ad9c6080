"""Prompt templates: << >> by default, {{ }} on request, sandboxed, never re-rendering data."""

from __future__ import annotations

import pytest

from replicate_eval.errors import TemplateError
from replicate_eval.templating import Templates, curly_vars


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
