"""``reval init`` writes a starter config; ``reval schema`` prints the config's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from replicate_eval.atomic import atomic_write_text
from replicate_eval.cli.common import app, fail, stderr
from replicate_eval.config.schema import AssertionEntry, TestEntry

STARTER = """\
# A reval eval: every prompt is sent to every provider with every test's vars, and each
# output is checked against the test's assertions. Run it:  reval run {name}
# Check it without running:  reval validate {name}
description: My first reval eval

prompts:
  # Templates: <<var>> is replaced by the test's value of `var`.
  - label: short
    raw: 'Answer in one short sentence: <<question>>'
  - label: teacher
    raw: 'You are a patient teacher. Explain briefly: <<question>>'

providers:
  # A text model on Replicate (set REPLICATE_API_TOKEN). `reval models list` finds others;
  # `reval models show meta/meta-llama-3-8b-instruct` shows its inputs.
  - id: replicate:meta/meta-llama-3-8b-instruct
    temperature: 0.2
    max_tokens: 256

defaultTest:
  assert:
    # Every answer stays short; `python` checks see `output`, `vars` and `context`.
    - type: python
      value: len(output) < 600

tests:
  - description: capital of France
    vars:
      question: What is the capital of France?
    assert:
      - type: icontains
        value: Paris

  - description: boiling point
    vars:
      question: At what temperature in Celsius does water boil at sea level?
    assert:
      - type: contains-any
        value: ['100', 'hundred']

  - description: refuses to invent
    vars:
      question: What did I have for breakfast?
    assert:
      - type: not-icontains
        value: you had
      - type: regex
        value: "(?i)(don't|do not|cannot|can't) know"
      # A model on Replicate judges what string checks cannot (by default Llama 3 70B;
      # choose another with `provider:` here or `reval run --grader PROVIDER_ID`).
      - type: llm-rubric
        value: Says it cannot know what the user ate, without guessing a meal
"""


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the starter config.")] = Path(
        "reval.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config: one model, two prompts, three tests."""
    if path.exists() and not force:
        fail(f"{path} already exists; choose another path or add --force")
    if not path.parent.is_dir():
        fail(f"folder {path.parent} does not exist")
    atomic_write_text(path, STARTER.format(name=path))
    stderr.print(f"Wrote {escape(str(path))}. Next: reval validate {escape(str(path))}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of reval's config file, for editors' YAML language servers."""
    print(json.dumps(config_schema(), indent=2))


def config_schema() -> dict[str, Any]:
    """The config as written (the loader's own models take it after some normalising)."""
    test = TestEntry.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    assertion = AssertionEntry.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    definitions: dict[str, Any] = {**test.pop("$defs", {}), **assertion.pop("$defs", {})}
    # An assertion holds assertions (promptfoo's assert-set): pydantic gives a reference to it.
    if "$ref" in assertion:
        assertion = definitions["AssertionEntry"]
    # The loader refuses unknown keys (with a suggestion): so does the schema.
    definitions["TestEntry"] = {**test, "additionalProperties": False}
    definitions["AssertionEntry"] = {**assertion, "additionalProperties": False}
    file_reference = {
        "type": "string",
        "pattern": "^file://",
        "description": "a file, relative to the config",
    }
    prompt = {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {"raw": {"type": "string"}, "label": {"type": "string"}},
                "required": ["raw"],
                "additionalProperties": False,
            },
        ]
    }
    provider = provider_schema(definitions)
    # Graders are provider entries; `options.provider` is one (the grader) or one per role.
    definitions["ProviderEntry"] = provider
    definitions["GraderProviders"] = {
        "anyOf": [
            provider,
            {
                "type": "object",
                "properties": {role: provider for role in ("text", "embedding", "moderation")},
                "additionalProperties": False,
            },
        ]
    }
    for name in ("TestOptions", "FactualityScores", "ChatMessage"):
        definitions[name] = {**definitions[name], "additionalProperties": False}
    tests = {"$ref": "#/$defs/TestEntry"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "reval config",
        "type": "object",
        "additionalProperties": False,
        "required": ["prompts", "providers"],
        "properties": {
            "description": {"type": "string"},
            "template_syntax": {"enum": ["angle", "curly"]},
            "prompts": {"anyOf": [{"type": "string"}, {"type": "array", "items": prompt}]},
            "providers": {"anyOf": [provider, {"type": "array", "items": provider}]},
            "tests": {
                "anyOf": [
                    {"type": "null"},
                    file_reference,
                    {"type": "array", "items": {"anyOf": [file_reference, tests]}},
                ]
            },
            "defaultTest": tests,
        },
        "$defs": definitions,
    }


def provider_schema(definitions: dict[str, Any]) -> dict[str, Any]:
    """A provider entry: an id of a known scheme (plugins' included), and per type its options
    (from the type's options model, with their descriptions), beside `id` or under `config:`."""
    from replicate_eval.providers.types.registry import all_types, installed_schemes

    schemes = sorted({t.scheme.partition(":")[0] for t in all_types()} | set(installed_schemes()))
    id_pattern = f"^({'|'.join(schemes)}):"
    per_type = []
    seen: set[str] = set()
    for provider_type in all_types():
        if provider_type.scheme in seen:  # `cog:` servers and folders take the same options
            continue
        seen.add(provider_type.scheme)
        options = provider_type.options.model_json_schema(ref_template="#/$defs/{model}")
        definitions.update(options.pop("$defs", {}))
        properties = options.get("properties", {})
        per_type.append(
            {
                "if": {"properties": {"id": {"pattern": _id_pattern(provider_type.scheme)}}},
                "then": {
                    "description": f"`{provider_type.form}`: {provider_type.summary}",
                    "properties": {
                        **properties,
                        "config": {"type": "object", "properties": properties},
                    },
                },
            }
        )
    return {
        "anyOf": [
            {"type": "string", "pattern": id_pattern},
            {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "pattern": id_pattern},
                    "label": {"type": "string"},
                    "config": {"type": "object"},
                },
                "required": ["id"],
                # Keys a type does not name are the model's inputs, sent as written.
                "additionalProperties": True,
                "description": "options may sit beside `id` or under `config:`",
                "allOf": per_type,
            },
        ]
    }


def _id_pattern(scheme: str) -> str:
    """The ids of one scheme, not those of a longer one (`replicate:` is not `replicate:image:`)."""
    if scheme == "replicate":
        return "^replicate:(?!image:|deployment:)"
    return f"^{scheme}:"
