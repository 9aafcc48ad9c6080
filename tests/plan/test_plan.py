"""The plan: every test x prompt x provider, with prompts and assertion values rendered."""

from __future__ import annotations

from pathlib import Path

from replicate_eval.config.load import load_config
from replicate_eval.plan import build_plan
from tests.conftest import yaml_text


def test_assertion_values_are_rendered_per_test_and_plain_ones_are_shared(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml_text(
            {
                "prompts": ["say <<word>>"],
                "providers": ["replicate:a/one", "replicate:a/two"],
                "tests": [
                    {"vars": {"word": "hi"}, "assert": [{"type": "contains", "value": "<<word>>"}]},
                    {"vars": {"word": "yo"}, "assert": [{"type": "contains", "value": "ok"}]},
                ],
            }
        )
    )
    config = load_config(path, {"REPLICATE_API_TOKEN": "r8_x"})
    cells = build_plan(config, repeat=2).cells

    assert [(c.test.index, c.provider.index, c.repeat) for c in cells][:4] == [
        (0, 0, 0),
        (0, 0, 1),
        (0, 1, 0),
        (0, 1, 1),
    ]
    assert {c.rendered_prompt for c in cells if c.test.index == 1} == {"say yo"}
    templated, plain = cells[0], cells[4]
    assert templated.assertions[0].value == "hi"
    assert templated.assertions is not config.tests[0].assertions
    # Nothing to render: every cell of the test holds the test's own specs (memory, time).
    assert plain.assertions is config.tests[1].assertions
    assert all(c.assertions is plain.assertions for c in cells if c.test.index == 1)
