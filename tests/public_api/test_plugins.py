"""Third-party provider and assertion types, installed from outside the package (issue 14).

Each test writes a toy plugin distribution into a folder of its own (a package and its
``.dist-info`` with ``entry_points.txt``, which is all an installed wheel leaves behind), puts
that folder on ``PYTHONPATH`` and runs the real ``reval`` command: reval finds the plugin through
its entry points (``reval.providers``, ``reval.assertions``) as it would a pip-installed one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

import replicate_eval as reval
from tests.conftest import REVAL, yaml_text

TOY = """
import asyncio
import time

from pydantic import Field

import replicate_eval as reval


class ReverseOptions(reval.ProviderOptions):
    times: int = Field(default=1, ge=1, description="how many times the prompt is reversed")


class Reverser:
    def __init__(self, config):
        self.id = config.id
        self.label = config.label
        self._config = config

    def build_input(self, prompt):
        if "BUILD" in prompt:
            raise RuntimeError("cannot build this")
        return {"text": prompt, "times": self._config.input_options.get("times", 1)}

    async def call(self, model_input):
        started = time.perf_counter()
        text = model_input["text"]
        if "EXIT" in text:
            raise SystemExit(3)
        if "RAISE" in text:
            raise ZeroDivisionError("toy models cannot divide")
        if "HANG" in text:
            await asyncio.sleep(60)
        for _ in range(model_input["times"]):
            text = text[::-1]
        return reval.ProviderResponse(text, (time.perf_counter() - started) * 1000)


class Toy(reval.ProviderType):
    scheme = "toy"
    form = "toy:name"
    summary = "reverses the prompt"
    options = ReverseOptions

    def parse(self, provider_id, base_dir):
        name = provider_id.removeprefix("toy:")
        if name != "reverse":
            raise reval.InvalidProviderId(f"`{provider_id}`: the toy plugin has only `toy:reverse`")
        return reval.PluginTarget(name)

    def build(self, config, run):
        return Reverser(config)


def _reversed_of(output, value, spec, ctx):
    if value == "crash":
        raise KeyError("no such thing")
    return reval.Outcome(output == str(value)[::-1], f"compared with `{value}` reversed")


REVERSED_OF = reval.AssertionKind("reversed-of", _reversed_of, "text")


def shouty(output, value, spec, ctx):
    return output.isupper()
"""

ENTRY_POINTS = """
[reval.providers]
toy = reval_toy:Toy
broken = reval_toy_broken:Missing

[reval.assertions]
reversed-of = reval_toy:REVERSED_OF
shouty = reval_toy:shouty
noisy = reval_toy_broken:nothing
"""


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    """A folder holding the toy plugin as pip would install it."""
    site = tmp_path / "site"
    (site / "reval_toy").mkdir(parents=True)
    (site / "reval_toy" / "__init__.py").write_text(TOY)
    (site / "reval_toy_broken.py").write_text("raise ImportError('the plugin is half installed')\n")
    info = site / "reval_toy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: reval-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS))
    return site


def reval_with_plugin(
    site: Path, config: dict[str, Any], *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    path = cwd / "config.yaml"
    path.write_text(yaml_text(config))
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("REPLICATE_API_TOKEN", None)  # a plugin's model needs no Replicate token
    return subprocess.run(
        [REVAL, *args, str(path)], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def toy_config(*tests: dict[str, Any], **provider: Any) -> dict[str, Any]:
    return {
        "prompts": ["<<word>>"],
        "providers": [{"id": "toy:reverse", **provider}],
        "tests": list(tests),
    }


def test_a_plugin_provider_and_assertions_run_from_their_entry_points(
    plugin_path: Path, tmp_path: Path
) -> None:
    config = toy_config(
        {"vars": {"word": "stressed"}, "assert": [{"type": "reversed-of", "value": "stressed"}]},
        {"vars": {"word": "LOUD"}, "assert": [{"type": "not-reversed-of", "value": "x"}]},
        {"vars": {"word": "ABC"}, "assert": [{"type": "shouty"}]},
        {"vars": {"word": "quiet"}, "assert": [{"type": "shouty"}]},
    )
    done = reval_with_plugin(plugin_path, config, "run", "-o", "out.json", cwd=tmp_path)

    assert done.returncode == 100, done.stderr  # the quiet one fails its check
    cells = json.loads((tmp_path / "out.json").read_text())["cells"]
    assert [cell["output"] for cell in cells] == ["desserts", "DUOL", "CBA", "teiuq"]
    assert [cell["status"] for cell in cells] == ["passed", "passed", "passed", "failed"]
    assert cells[0]["input"] == {"text": "stressed", "times": 1}
    assert "Traceback" not in done.stderr


def test_a_plugin_provider_s_options_are_validated_by_its_model(
    plugin_path: Path, tmp_path: Path
) -> None:
    config = toy_config({"vars": {"word": "abc"}}, times=2)
    done = reval_with_plugin(plugin_path, config, "run", "-o", "out.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.json").read_text())["cells"][0]["output"] == "abc"

    bad = reval_with_plugin(
        plugin_path, toy_config({"vars": {"word": "a"}}, times=0), "validate", cwd=tmp_path
    )
    assert bad.returncode == 2
    assert "providers[0].times" in bad.stderr and "must be at least 1, got 0" in bad.stderr


def test_what_plugin_code_raises_is_a_cell_s_error_never_a_traceback(
    plugin_path: Path, tmp_path: Path
) -> None:
    config = toy_config(
        {"vars": {"word": "RAISE"}},
        {"vars": {"word": "EXIT"}},
        {"vars": {"word": "BUILD"}},
        {"vars": {"word": "HANG"}},
        {"vars": {"word": "fine"}, "assert": [{"type": "reversed-of", "value": "crash"}]},
        timeout=1,
    )
    done = reval_with_plugin(plugin_path, config, "run", "-o", "out.json", cwd=tmp_path)

    assert done.returncode in (1, 100), done.stderr
    assert "Traceback" not in done.stderr
    cells = json.loads((tmp_path / "out.json").read_text())["cells"]
    errors = [cell["error"] or "" for cell in cells[:4]]
    assert "ZeroDivisionError: toy models cannot divide" in errors[0]
    assert "SystemExit" in errors[1]
    assert "build_input raised RuntimeError: cannot build this" in errors[2]
    assert "did not answer within 1 s" in errors[3]
    assert cells[4]["status"] == "failed"
    assert "the `reversed-of` check raised KeyError" in json.dumps(cells[4]["assertions"])


@pytest.mark.parametrize(
    ("provider", "check", "message"),
    [
        ("toy:other", None, "the toy plugin has only `toy:reverse`"),
        ("broken:x", None, "the provider plugin `broken` (entry point `reval_toy_broken:Missing`"),
        ("broken:x", None, "of reval-toy 0.1) could not be loaded: ImportError"),
        ("toi:reverse", None, "did you mean `toy`?"),
        ("toy:reverse", "noisy", "the assertion plugin `noisy`"),
        ("toy:reverse", "reversed-off", "did you mean `reversed-of`?"),
    ],
)
def test_a_broken_or_mistyped_plugin_is_a_config_error(
    plugin_path: Path, tmp_path: Path, provider: str, check: str | None, message: str
) -> None:
    config = {
        "prompts": ["<<word>>"],
        "providers": [provider],
        "tests": [{"vars": {"word": "a"}, "assert": [{"type": check}] if check else []}],
    }
    done = reval_with_plugin(plugin_path, config, "validate", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_without_the_plugin_installed_its_ids_are_unknown(tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    done = reval_with_plugin(empty, toy_config({"vars": {"word": "a"}}), "validate", cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown provider `toy:reverse`" in done.stderr


def test_a_provider_type_registered_in_process(tmp_path: Path) -> None:
    class Upper(reval.ProviderType):
        scheme = "upper-test"
        form = "upper-test:any"
        summary = "upper-cases the prompt"

        def parse(self, provider_id: str, base_dir: Path) -> reval.PluginTarget:
            return reval.PluginTarget(provider_id.partition(":")[2])

        def build(self, config: reval.ProviderConfig, run: reval.RunResources) -> Any:
            class Provider:
                id, label = config.id, config.label

                def build_input(self, prompt: str) -> dict[str, Any]:
                    return {"prompt": prompt}

                async def call(self, model_input: dict[str, Any]) -> reval.ProviderResponse:
                    return reval.ProviderResponse(model_input["prompt"].upper(), 0.0)

            return Provider()

    reval.register_provider_type(Upper())
    config = reval.load(
        {
            "prompts": ["hi <<name>>"],
            "providers": ["upper-test:x"],
            "tests": [{"vars": {"name": "ann"}, "assert": [{"type": "equals", "value": "HI ANN"}]}],
        },
        base_dir=tmp_path,
        require_token=False,
    )
    provider = config.providers[0]
    assert not provider.capabilities.needs_token and not provider.capabilities.cacheable
    result = reval.evaluate(config, reval.EvalOptions(cache=False, output_dir=tmp_path / "out"))
    assert [cell.output for cell in result.cells] == ["HI ANN"]
    assert result.totals.pass_rate == 1.0


def test_reval_schema_accepts_an_installed_plugin_s_ids(plugin_path: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(plugin_path)}
    done = subprocess.run([REVAL, "schema"], env=env, capture_output=True, text=True, timeout=60)
    entry = json.loads(done.stdout)["$defs"]["ProviderEntry"]["anyOf"][0]
    assert re.match(entry["pattern"], "toy:reverse") and re.match(entry["pattern"], "cog:m")
    assert not re.match(entry["pattern"], "openai:gpt-4")


def test_the_readme_plugin_example_runs_as_written(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Plugins: your own provider and assertion types", 1)[1]
    code, toml, config = (
        section.split(f"```{lang}\n", 1)[1].split("```", 1)[0]
        for lang in ("python", "toml", "yaml")
    )
    site = tmp_path / "site"
    info = site / "reval_upper-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "reval_upper.py").write_text(code)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: reval-upper\nVersion: 1.0\n")
    # pyproject's [project.entry-points."GROUP"] tables are entry_points.txt's [GROUP] sections.
    (info / "entry_points.txt").write_text(
        re.sub(r'\[project\.entry-points\."([^"]+)"\]', r"[\1]", toml).replace('"', "")
    )
    done = reval_with_plugin(site, yaml.safe_load(config), "run", "-o", "out.json", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    cell = json.loads((tmp_path / "out.json").read_text())["cells"][0]
    assert cell["output"] == "SAY HELLO TO ADA!" and cell["status"] == "passed"
    assert [a["type"] for a in cell["assertions"]] == ["shouting", "equals"]
