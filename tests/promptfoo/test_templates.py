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
