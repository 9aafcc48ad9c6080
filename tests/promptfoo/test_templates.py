"""promptfoo's `{{var}}` syntax in a config that does not set `template_syntax`, and the
Nunjucks filters promptfoo configs use."""

from __future__ import annotations

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate
from tests.promptfoo.support import prompts_sent, says_its_prompt


def test_curly_vars_in_prompts_and_assertions_are_rendered_with_one_note(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    run = run_config(
        {
            "prompts": [
                "Tell me about {{topic}}",
                "{% if topic %}About {{ topic | upper }}{% endif %}",
            ],
            "providers": ["replicate:meta/llama"],
            "tests": [
                {"vars": {"topic": "owls"}, "assert": [{"type": "icontains", "value": "{{topic}}"}]}
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert sorted(prompts_sent(fake_replicate)) == ["About OWLS", "Tell me about owls"]
    assert run.result.stderr.count("note:") == 1
    assert "template_syntax: curly" in run.result.stderr
    assert [cell["status"] for cell in run.cells] == ["passed", "passed"]


def test_a_file_that_uses_angle_markers_anywhere_keeps_reval_syntax(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    run = run_config(
        {
            "prompts": ["Tell me about {{topic}}"],
            "providers": ["replicate:meta/llama"],
            "tests": [
                {"vars": {"topic": "owls"}, "assert": [{"type": "contains", "value": "<<topic>>"}]}
            ],
        }
    )
    assert prompts_sent(fake_replicate) == ["Tell me about {{topic}}"]
    assert "note:" not in run.result.stderr
    assert "warning:" in run.result.stderr  # the literal {{topic}} is pointed out


def test_braces_that_read_no_var_stay_text(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    run = run_config(
        {
            "prompts": ["Fill in {{name}} in this Mustache template"],
            "providers": ["replicate:meta/llama"],
            "tests": [{"vars": {"user": "ann"}}],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert prompts_sent(fake_replicate) == ["Fill in {{name}} in this Mustache template"]
    assert "note:" not in run.result.stderr


def test_the_dump_filter_writes_json_as_javascript_does(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    run_config(
        {
            "prompts": ["{{ item | dump }}|{{ item | dump(2) }}|{{ name | dump }}"],
            "providers": ["replicate:meta/llama"],
            "tests": [{"vars": {"item": {"a": [1, "é"]}, "name": 'say "hi"'}}],
        }
    )
    assert prompts_sent(fake_replicate) == [
        '{"a":[1,"é"]}|{\n  "a": [\n    1,\n    "é"\n  ]\n}|"say \\"hi\\""'
    ]


def test_every_nunjucks_filter_exists(fake_replicate: FakeReplicate, run_config: RunConfig) -> None:
    """Nunjucks' built-in filters (its docs' list), each given a value it takes."""
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    uses = [
        "n | abs",
        "words | batch(2) | list | length",
        "name | capitalize",
        "name | center(9)",
        "missing | default('d')",
        "missing | d('d')",
        "pairs | dictsort | first | first",
        "words | dump",
        "name | escape",
        "name | e",
        "words | first",
        "'1.5' | float",
        "name | forceescape",
        "people | groupby('team') | list | length",
        "lines | indent(2)",
        "'7' | int",
        "words | join('-')",
        "words | last",
        "words | length",
        "name | list | length",
        "name | lower",
        "lines | nl2br",
        "words | random | length > 0",
        "nums | reject('odd') | list",
        "people | rejectattr('team') | list | length",
        "name | replace('a', 'o')",
        "words | reverse | first",
        "1.26 | round(1)",
        "name | safe",
        "nums | select('odd') | list",
        "people | selectattr('team') | list | length",
        "words | slice(2) | list | length",
        "words | sort | first",
        "7 | string",
        "'<b>x</b>' | striptags",
        "nums | sum",
        "name | title",
        "' x ' | trim",
        "lines | truncate(5)",
        "name | upper",
        "'a b' | urlencode",
        "'see http://x.org' | urlize | length > 0",
        "lines | wordcount",
    ]
    run = run_config(
        {
            # `words` set here: a list of strings as a var would make a test per item.
            "prompts": [
                "{% set words = ['b', 'a', 'c'] %}" + "|".join("{{ " + use + " }}" for use in uses)
            ],
            "providers": ["replicate:meta/llama"],
            "tests": [
                {
                    "vars": {
                        "n": -3,
                        "name": "ada",
                        "nums": [1, 2, 3],
                        "lines": "one\ntwo words",
                        "pairs": {"k": "v"},
                        "people": [{"team": "x"}, {"team": ""}],
                    }
                }
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    [sent] = prompts_sent(fake_replicate)
    shown = dict(zip(uses, sent.split("|"), strict=True))
    assert shown["n | abs"] == "3"
    assert shown["missing | default('d')"] == shown["missing | d('d')"] == "d"
    assert shown["lines | nl2br"] == "one<br />\ntwo words"
    assert shown["words | dump"] == '["b","a","c"]'
    assert shown["name | replace('a', 'o')"] == "odo"
    assert shown["nums | sum"] == "6"
    assert shown["lines | wordcount"] == "3"


def test_a_var_read_only_through_default_is_optional_as_in_promptfoo(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    run = run_config(
        {
            "prompts": [
                "{{ question }}{% if context is defined %} Context: {{ context }}{% endif %}"
                "{{ suffix | default('!') }}"
            ],
            "providers": ["replicate:meta/llama"],
            "tests": [
                {"vars": {"question": "Why?"}},
                {"vars": {"question": "How?", "context": "docs", "suffix": "?"}},
                {"vars": {"context": "no question"}},
            ],
        }
    )
    assert sorted(prompts_sent(fake_replicate)) == ["How? Context: docs?", "Why?!"]
    # A var read without a guard is still required: the third test is an error, named.
    assert run.result.exit_code == 100
    assert "missing var `question`" in run.json["cells"][2]["error"]
