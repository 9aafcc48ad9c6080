"""`reval models list` and `reval models show` over the fake's catalogue (605 real models)."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REVAL, RunCli
from tests.fake_replicate import FakeReplicate, cog_schema
from tests.fake_replicate.catalogue import PAGE_SIZE, snapshot


@pytest.fixture
def catalogue(fake_replicate: FakeReplicate) -> FakeReplicate:
    fake_replicate.load_catalogue()
    return fake_replicate


def pages_read(fake: FakeReplicate) -> int:
    return len(fake.received("GET", "/v1/models"))


def listed(run_cli: RunCli, *args: str) -> list[dict[str, object]]:
    result = run_cli("models", "list", "--json", *args)
    assert result.exit_code == 0, result.stderr
    models: list[dict[str, object]] = json.loads(result.stdout)["models"]
    return models


def test_list_reads_pages_lazily_until_the_limit(catalogue: FakeReplicate, run_cli: RunCli) -> None:
    models = listed(run_cli, "--limit", "60")
    assert len(models) == 60
    assert pages_read(catalogue) == 3  # 25 + 25 + 25, not the 25 pages of the catalogue
    first = snapshot()[0]
    assert models[0]["model"] == f"{first['owner']}/{first['name']}"
    assert set(models[0]) == {
        "model",
        "description",
        "run_count",
        "visibility",
        "url",
        "latest_version",
        "latest_version_created_at",
        "output",
        "provider_id",
    }


def test_the_default_limit_is_50(catalogue: FakeReplicate, run_cli: RunCli) -> None:
    assert len(listed(run_cli)) == 50
    assert pages_read(catalogue) == 2


def test_owner_searches_for_the_owner_and_keeps_its_models(
    catalogue: FakeReplicate, run_cli: RunCli
) -> None:
    models = listed(run_cli, "--owner", "meta", "--sort", "runs")
    assert [m["model"] for m in models] == ["meta/meta-llama-3-8b-instruct", "meta/llama-2-7b-chat"]
    assert [r.body for r in catalogue.received("QUERY", "/v1/models")] == ["meta"]
    assert pages_read(catalogue) == 0  # not a scan of the whole catalogue
    assert all(m["provider_id"] == f"replicate:{m['model']}" for m in models)
    lucataco = listed(run_cli, "--owner", "lucataco", "--limit", "1000")
    assert len(lucataco) == sum(e["owner"] == "lucataco" for e in snapshot())


def test_search_follows_its_pages(catalogue: FakeReplicate, run_cli: RunCli) -> None:
    expected = [e for e in snapshot() if "video" in f"{e['name']} {e['description']}".lower()]
    assert len(expected) > PAGE_SIZE  # more than one page of results
    models = listed(run_cli, "--search", "video", "--limit", "1000")
    assert len(models) == len(expected)
    searches = catalogue.received("QUERY", "/v1/models")
    assert len(searches) == -(-len(expected) // PAGE_SIZE)
    assert all(request.body == "video" for request in searches)
    assert [m["run_count"] for m in models] == sorted(
        (m["run_count"] for m in models), reverse=True
    )


def test_collection_and_provider_prefix_by_output(
    catalogue: FakeReplicate, run_cli: RunCli
) -> None:
    models = listed(run_cli, "--collection", "text-to-image", "--sort", "name")
    assert len(models) == 20
    assert all(m["output"] == "image" for m in models)
    assert all(str(m["provider_id"]).startswith("replicate:image:") for m in models)
    assert [m["model"] for m in models] == sorted(str(m["model"]).lower() for m in models)


def test_plain_aligned_table_when_not_a_terminal(catalogue: FakeReplicate, run_cli: RunCli) -> None:
    result = run_cli("models", "list", "--limit", "5", "--search", "video")
    header, *rows = result.stdout.splitlines()
    assert header.split() == [
        "model",
        "description",
        "runs",
        "visibility",
        "latest",
        "provider",
        "id",
    ]
    assert len(rows) == 5
    starts = [header.index(name) for name in ("visibility", "provider id")]
    for row in rows:
        assert all(row[start - 2 : start] == "  " for start in starts)  # columns line up
        assert row.split()[0].count("/") == 1
    assert "\x1b[" not in result.stdout  # no colour codes in a pipe


def test_nothing_found_says_so(catalogue: FakeReplicate, run_cli: RunCli) -> None:
    result = run_cli("models", "list", "--search", "no-such-model-anywhere")
    assert (result.exit_code, result.stdout.strip()) == (0, "No models found.")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--collection", "nope"], {}, "collection `nope` was not found on Replicate (404)"),
        ([], {"REPLICATE_API_TOKEN": ""}, "no Replicate API token: set REPLICATE_API_TOKEN"),
        ([], {"REPLICATE_API_TOKEN": "r8_wrong"}, "Replicate answered 401 Unauthenticated"),
        ([], {"REPLICATE_BASE_URL": "http://127.0.0.1:9"}, "could not reach Replicate"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    catalogue: FakeReplicate,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_cli("models", "list", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_show_lists_inputs_by_x_order_and_a_provider_to_paste(
    catalogue: FakeReplicate, run_cli: RunCli
) -> None:
    result = run_cli("models", "show", "stability-ai/sdxl")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "A text-to-image generative AI model" in text
    version = catalogue.models["stability-ai/sdxl"].latest_version
    assert f"latest version: {version}" in text
    order = [
        text.index(name) for name in ("prompt", "width", "num_outputs", "refine", "apply_watermark")
    ]
    assert order == sorted(order)
    assert "1..4" in text and "expert_ensemble" in text
    assert "output: list of image/file URIs" in text
    entry = text[text.index("providers:") :]
    assert "- id: replicate:image:stability-ai/sdxl\n" in entry
    assert "num_inference_steps: 50" in entry and "refine: no_refiner" in entry


def test_show_a_version_and_its_raw_schema(catalogue: FakeReplicate, run_cli: RunCli) -> None:
    version = catalogue.models["meta/llama-2-7b-chat"].latest_version
    assert version is not None
    result = run_cli("models", "show", f"meta/llama-2-7b-chat:{version}", "--json")
    schema = json.loads(result.stdout)
    assert schema["components"]["schemas"]["Output"]["x-cog-array-type"] == "iterator"
    assert catalogue.received("GET", f"/v1/models/meta/llama-2-7b-chat/versions/{version}")
    text = run_cli("models", "show", f"meta/llama-2-7b-chat:{version}").stdout
    assert "output: token iterator (joined into text)" in text
    assert f"- id: replicate:meta/llama-2-7b-chat:{version}" in text


def test_show_an_unknown_model(catalogue: FakeReplicate, run_cli: RunCli) -> None:
    result = run_cli("models", "show", "nobody/nothing")
    assert result.exit_code == 2
    assert "model `nobody/nothing` was not found on Replicate (404)" in result.stderr


def test_the_console_script_prints_plain_columns_to_a_pipe(
    catalogue: FakeReplicate, tmp_path: Path
) -> None:
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(
        [REVAL, "models", "list", "--limit", "3", "--sort", "runs"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 4 and max(len(line) for line in lines) > 80  # not wrapped at 80


def test_show_prints_schemas_with_markup_like_text_as_text(
    fake_replicate: FakeReplicate, run_cli: RunCli
) -> None:
    schema = cog_schema(
        {
            "title": "Input",
            "properties": {
                "prompt": {"type": "string", "x-order": 0},
                "prompt_template": {
                    "type": "string",
                    "x-order": 1,
                    "default": "[INST] {prompt} [/INST]",
                    "description": "[bold]not markup[/bold]",
                },
                "max_tokens": {"type": ["integer", "null"], "x-order": None, "minimum": "1"},
            },
        },
        Output={"type": "array", "items": {"type": "string"}, "x-cog-array-type": "iterator"},
    )
    fake_replicate.add_model("meta/llama-2-70b-chat", official=True, openapi_schema=schema)
    result = run_cli("models", "show", "meta/llama-2-70b-chat")
    assert result.exit_code == 0, result.stderr
    assert '"[INST] {prompt} [/INST]"' in result.stdout
    assert "[bold]not markup[/bold]" in result.stdout
    assert "max_tokens" in result.stdout and "integer" in result.stdout


def slug(entry: dict[str, object]) -> str:
    return f"{entry['owner']}/{entry['name']}"


def most_run(entries: list[dict[str, object]], n: int) -> list[str]:
    ranked = sorted(entries, key=lambda e: -int(str(e.get("run_count") or 0)))
    return [slug(e) for e in ranked[:n]]


CATALOGUE_PAGES = -(-len(snapshot()) // PAGE_SIZE)  # 605 models: 25 pages


def test_sort_runs_reads_every_page_then_keeps_the_top(
    catalogue: FakeReplicate, run_cli: RunCli
) -> None:
    entries = snapshot()
    top = most_run(entries, 5)
    # The fixture makes the point: the first page's top 5 are not the catalogue's.
    assert most_run(entries[:PAGE_SIZE], 5) != top
    assert any(slug(e) in top for e in entries[-PAGE_SIZE:])  # some are on the last page
    result = run_cli("models", "list", "--json", "--sort", "runs", "--limit", "5")
    document = json.loads(result.stdout)
    assert [m["model"] for m in document["models"]] == top
    assert pages_read(catalogue) == CATALOGUE_PAGES
    cursors = [r.query for r in catalogue.received("GET", "/v1/models")]
    assert cursors == ["", *(f"cursor={PAGE_SIZE * i}" for i in range(1, CATALOGUE_PAGES))]
    assert (document["pages_read"], document["models_read"], document["capped"]) == (
        CATALOGUE_PAGES,
        len(entries),
        False,
    )
    assert "note:" not in result.stderr  # the whole selection was sorted


def test_sort_name_reads_every_page_too(catalogue: FakeReplicate, run_cli: RunCli) -> None:
    models = listed(run_cli, "--sort", "name", "--limit", "4")
    assert [m["model"] for m in models] == sorted(slug(e) for e in snapshot())[:4]
    assert pages_read(catalogue) == CATALOGUE_PAGES


def test_sorted_search_reads_all_its_pages(catalogue: FakeReplicate, run_cli: RunCli) -> None:
    expected = [e for e in snapshot() if "video" in f"{e['name']} {e['description']}".lower()]
    models = listed(run_cli, "--search", "video", "--sort", "name", "--limit", "3")
    assert [m["model"] for m in models] == sorted(slug(e) for e in expected)[:3]
    assert len(catalogue.received("QUERY", "/v1/models")) == -(-len(expected) // PAGE_SIZE)


def test_the_page_cap_is_said_when_it_stops_a_sort(
    catalogue: FakeReplicate, run_cli: RunCli
) -> None:
    result = run_cli("models", "list", "--sort", "runs", "--limit", "5", "--max-pages", "3")
    assert result.exit_code == 0
    assert pages_read(catalogue) == 3
    first = snapshot()[: 3 * PAGE_SIZE]
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == most_run(first, 5)
    assert " ".join(result.stderr.split()) == (
        "note: sorted the first 75 models of the selection: reading stopped at the --max-pages "
        "cap (3 pages) and more pages exist; raise --max-pages to read further"
    )
    document = json.loads(
        run_cli("models", "list", "--json", "--sort", "runs", "--max-pages", "3").stdout
    )
    assert (document["pages_read"], document["models_read"], document["capped"]) == (3, 75, True)


def test_unsorted_listing_stays_lazy_and_says_nothing_of_a_cap(
    catalogue: FakeReplicate, run_cli: RunCli
) -> None:
    result = run_cli("models", "list", "--json", "--limit", "30", "--max-pages", "2")
    assert len(json.loads(result.stdout)["models"]) == 30 and pages_read(catalogue) == 2
    assert result.stderr == ""  # the limit stopped the reading, not the cap
    search = run_cli("models", "list", "--search", "video", "--limit", "1000", "--max-pages", "1")
    assert len(search.stdout.splitlines()) == 1 + PAGE_SIZE
    assert " ".join(search.stderr.split()).startswith(
        "note: found the first 25 models of the selection: reading stopped at the --max-pages "
        "cap (1 page)"
    )


def test_the_progress_bar_counts_pages_and_models_on_a_terminal(
    catalogue: FakeReplicate, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    import replicate_eval.cli.models as models_cli

    screen = io.StringIO()
    monkeypatch.setattr(models_cli, "stderr", Console(file=screen, force_terminal=True))
    run_cli("models", "list", "--sort", "runs", "--limit", "5")
    shown = screen.getvalue()
    assert "Reading models" in shown and f"{CATALOGUE_PAGES} pages · 605 models" in shown
    screen.truncate(0)
    monkeypatch.setattr(models_cli, "stderr", Console(file=screen, force_terminal=False))
    run_cli("models", "list", "--sort", "runs", "--limit", "5")
    assert screen.getvalue() == ""  # not a terminal: no bar


def test_list_help_says_what_sorting_reads() -> None:
    from typer.testing import CliRunner

    from replicate_eval.cli import app

    text = " ".join(CliRunner().invoke(app, ["models", "list", "--help"]).stdout.split())
    assert "With --sort, every page of the selection" in text
    assert "Replicate cannot sort by run count" in text
    assert "--max-pages" in text and "reading stops as soon as --limit models are found" in text


@pytest.mark.parametrize("token", ["r8_with space_0123456789", "r8_é_0123456789abcdef", "r8_x\n"])
def test_models_refuse_a_malformed_token_naming_the_variable(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", token)
    result = run_cli("models", "list")
    assert result.exit_code == 2
    assert "environment variable REPLICATE_API_TOKEN: the token holds whitespace" in result.stderr
    assert token.strip() not in result.stderr
