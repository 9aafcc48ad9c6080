"""The forms promptfoo's `prompts:` takes, run unchanged: bare file names, `{id, label}`, the
`{file: label}` mapping, YAML chat files and inline message lists."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate
from tests.promptfoo.support import inputs_sent, says_ok

PROVIDERS = ["replicate:meta/llama"]
TESTS = [{"vars": {"topic": "owls"}}]


def test_a_bare_file_name_that_exists_is_read_and_one_that_does_not_is_text(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    (tmp_path / "prompts.txt").write_text("First about {{topic}}\n---\nSecond about {{topic}}\n")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "a.txt").write_text("Third about {{topic}}")
    run = run_config(
        {
            "prompts": ["prompts.txt", "more/*.txt", "missing.txt"],
            "providers": PROVIDERS,
            "tests": TESTS,
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert sorted(i["prompt"] for i in inputs_sent(fake_replicate)) == [
        "First about owls",
        "Second about owls",
        "Third about owls",
        "missing.txt",
    ]
    labels = [prompt["label"] for prompt in run.json["prompts"]]
    assert labels[:3] == ["prompts.txt #1", "prompts.txt #2", "more/a.txt"]


def test_id_and_label_objects_and_the_legacy_mapping_name_files(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    (tmp_path / "a.txt").write_text("A {{topic}}")
    (tmp_path / "b.txt").write_text("B {{topic}}")
    run = run_config(
        {
            "prompts": [{"id": "file://a.txt", "label": "first"}],
            "providers": PROVIDERS,
            "tests": TESTS,
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert [p["label"] for p in run.json["prompts"]] == ["first"]
    run = run_config(
        {
            "prompts": {"a.txt": "alpha", "file://b.txt": "beta"},
            "providers": PROVIDERS,
            "tests": TESTS,
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert [p["label"] for p in run.json["prompts"]] == ["alpha", "beta"]
    assert [i["prompt"] for i in inputs_sent(fake_replicate)][-2:] == ["A owls", "B owls"]


def test_a_yaml_chat_file_and_an_inline_message_list_are_chats(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    (tmp_path / "chat.yaml").write_text(
        "- role: system\n  content: Be brief.\n- role: user\n  content: Tell me about {{topic}}\n"
    )
    run = run_config(
        {
            "prompts": [
                "file://chat.yaml",
                [
                    {"role": "system", "content": "Be kind."},
                    {"role": "user", "content": "Hi {{topic}}"},
                ],
            ],
            "providers": PROVIDERS,
            "tests": TESTS,
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert sorted(inputs_sent(fake_replicate), key=lambda sent: sent["prompt"]) == [
        {"system_prompt": "Be kind.", "prompt": "Hi owls"},
        {"system_prompt": "Be brief.", "prompt": "Tell me about owls"},
    ]


def test_a_yaml_prompt_file_that_is_not_a_chat_is_refused_by_name(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "notes.yaml").write_text("title: not a chat\n")
    run = run_config({"prompts": ["file://notes.yaml"], "providers": PROVIDERS})
    assert run.result.exit_code == 2
    assert "notes.yaml" in run.result.stderr and "chat messages" in run.result.stderr
    assert "Traceback" not in run.result.stderr
    assert fake_replicate.requests == []


def test_a_multi_turn_chat_file_is_a_cell_error_naming_the_file(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    (tmp_path / "chat.yaml").write_text(
        "- role: user\n  content: Hi\n- role: assistant\n  content: Hello\n"
        "- role: user\n  content: About {{topic}}?\n"
    )
    run = run_config({"prompts": ["file://chat.yaml"], "providers": PROVIDERS, "tests": TESTS})
    assert run.result.exit_code == 100
    [cell] = run.cells
    assert cell["status"] == "error"
    assert "chat.yaml" in cell["error"] and "exactly one `user` message" in cell["error"]
    assert fake_replicate.received("POST") == []
