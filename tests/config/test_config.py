"""Loading configs: the promptfoo forms, environment fallbacks, and errors that name the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from replicate_eval.config.load import load_config
from replicate_eval.errors import ConfigError

TOKEN = "r8_config_test_token"
ENV = {"REPLICATE_API_TOKEN": TOKEN}
GEMMA = (
    "replicate:google-deepmind/gemma-7b-it:"
    "2790a695e5dcae15506138cc4718d1106d0d475e6dca4b1d43f42414647993d5"
)
WriteConfig = Callable[..., Path]
AB = {"prompts": ["hi"], "providers": ["replicate:a/b"]}

# YAML text on purpose where a test is about the file: a message naming its line, YAML syntax,
# or promptfoo's forms as its docs write them. Configs as data elsewhere.

SEED_PROVIDERS = f"""
providers:
  - id: replicate:meta/llama-2-7b-chat
    temperature: 0.01
    max_length: 1024
    prefix: '[INST] '
    suffix: ' [/INST]'
  - id: {GEMMA}
    config:
      temperature: 0.01
      max_new_tokens: 1024
      prompt:
        prefix: "<start_of_turn>user\\n"
        suffix: "<end_of_turn>\\n<start_of_turn>model"
"""


def config_error(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV if env is None else env)
    return str(caught.value)


def test_seed_provider_entries_load_as_written(write_config: WriteConfig) -> None:
    config = load_config(write_config("prompts: [hi]\n" + SEED_PROVIDERS), ENV)
    llama, gemma = config.providers
    assert llama.target.slug == "meta/llama-2-7b-chat" and llama.target.version is None
    assert dict(llama.input_options) == {"temperature": 0.01, "max_length": 1024}
    assert (llama.prefix, llama.suffix) == ("[INST] ", " [/INST]")
    assert gemma.target.version == GEMMA.rsplit(":", 1)[1]
    assert dict(gemma.input_options) == {"temperature": 0.01, "max_new_tokens": 1024}
    assert (gemma.prefix, gemma.suffix) == (
        "<start_of_turn>user\n",
        "<end_of_turn>\n<start_of_turn>model",
    )


def test_flat_options_and_config_mean_the_same(write_config: WriteConfig) -> None:
    flat = load_config(
        write_config(
            """
prompts: [hi]
providers:
  - id: replicate:meta/llama-2-7b-chat
    temperature: 0.5
    top_k: 40
    custom_input: [1, 2]
    prefix: '<'
    suffix: '>'
""",
            "flat.yaml",
        ),
        ENV,
    ).providers[0]
    nested = load_config(
        write_config(
            """
prompts: [hi]
providers:
  - id: replicate:meta/llama-2-7b-chat
    config:
      temperature: 0.5
      top_k: 40
      custom_input: [1, 2]
      prompt: {prefix: '<', suffix: '>'}
""",
            "nested.yaml",
        ),
        ENV,
    ).providers[0]
    assert (
        flat.input_options
        == nested.input_options
        == {"temperature": 0.5, "top_k": 40, "custom_input": [1, 2]}
    )
    assert (flat.prefix, flat.suffix) == (nested.prefix, nested.suffix) == ("<", ">")


def test_provider_shorthands(write_config: WriteConfig) -> None:
    config = load_config(
        write_config("""
prompts: "one prompt"
providers: replicate:meta/llama-2-7b-chat
"""),
        ENV,
    )
    assert [p.template for p in config.prompts] == ["one prompt"]
    assert config.providers[0].id == "replicate:meta/llama-2-7b-chat"
    assert config.providers[0].label == "replicate:meta/llama-2-7b-chat"
    assert len(config.tests) == 1 and config.tests[0].vars == {}


def test_deployment_ids(write_config: WriteConfig) -> None:
    config = load_config(
        write_config({"prompts": ["hi"], "providers": ["replicate:deployment:acme/support-bot"]}),
        ENV,
    )
    target = config.providers[0].target
    assert (target.deployment, target.slug, target.version) == (True, "acme/support-bot", None)


@pytest.mark.parametrize(
    ("provider_id", "message"),
    [
        (
            "openai:gpt-4",
            "unknown provider `openai:gpt-4`; reval runs `replicate:owner/name[:version]`, "
            "`replicate:image:owner/name[:version]`",
        ),
        ("replicat:meta/llama", "did you mean `replicate`?"),
        ("replicate:llama", "expected `owner/name` after `replicate:`, got `llama`"),
        ("replicate:meta/llama:v2", "a version id is 64 lowercase hex characters, got `v2`"),
        ("replicate:deployment:acme/bot:" + "a" * 64, "a deployment id has no version"),
        ("replicate:image:sdxl", "expected `owner/name` after `replicate:`, got `sdxl`"),
        ("replicate:image:deployment:acme/bot", "image deployments are not supported yet"),
    ],
)
def test_bad_provider_ids(write_config: WriteConfig, provider_id: str, message: str) -> None:
    path = write_config(f"prompts: [hi]\nproviders:\n  - id: '{provider_id}'\n")
    assert message in config_error(path)
    assert f"{path}:3: providers[0].id:" in config_error(path)


SDXL = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"


def test_image_ids_and_options_flat_or_under_config(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(
            {
                "prompts": ["hi"],
                "providers": [
                    {
                        "id": f"replicate:image:stability-ai/sdxl:{SDXL}",
                        "width": 768,
                        "refine": "expert_ensemble_refiner",
                        "config": {"apply_watermark": False, "num_outputs": 2},
                    },
                    "replicate:image:black-forest-labs/flux-schnell",
                ],
            }
        ),
        {**ENV, "REPLICATE_TEMPERATURE": "0.5", "REPLICATE_SEED": "7"},
    )
    sdxl, flux = config.providers
    assert (sdxl.kind, sdxl.target.slug, sdxl.target.version) == (
        "image",
        "stability-ai/sdxl",
        SDXL,
    )
    # Only what the user set; text-model environment fallbacks do not apply to image models.
    assert dict(sdxl.input_options) == {
        "width": 768,
        "refine": "expert_ensemble_refiner",
        "apply_watermark": False,
        "num_outputs": 2,
    }
    assert (flux.kind, dict(flux.input_options)) == ("image", {})


def test_image_options_are_typed(write_config: WriteConfig) -> None:
    path = write_config("""prompts: [hi]
providers:
  - id: replicate:image:a/b
    width: '768'
    apply_watermark: nope
""")
    message = config_error(path)
    assert f"{path}:4: providers[0].width: expected a whole number, got '768'" in message
    assert f"{path}:5: providers[0].apply_watermark: expected true or false, got 'nope'" in message


def test_misspelt_top_level_key_names_file_line_and_suggestion(write_config: WriteConfig) -> None:
    path = write_config("prompts: [hi]\nprovders: [replicate:a/b]\n")
    message = config_error(path)
    assert f"{path}:2: provders: unknown key; did you mean `providers`?" in message


def test_wrong_type_names_the_key_path_and_line(write_config: WriteConfig) -> None:
    path = write_config(
        f"prompts: [hi]{SEED_PROVIDERS}".replace(
            "temperature: 0.01\n      max_new_tokens", "temperature: hot\n      max_new_tokens"
        )
    )
    message = config_error(path)
    assert f"{path}:10: providers[1].config.temperature: expected a number, got 'hot'" in message


def test_flat_option_errors_point_at_the_flat_key(write_config: WriteConfig) -> None:
    path = write_config("""prompts: [hi]
providers:
  - id: replicate:a/b
    max_length: lots
    prefix: 7
""")
    message = config_error(path)
    assert f"{path}:4: providers[0].max_length: expected a whole number, got 'lots'" in message
    assert f"{path}:5: providers[0].prefix: expected text, got 7" in message


def test_misspelt_flat_key_is_not_sent_as_an_input(write_config: WriteConfig) -> None:
    path = write_config("prompts: [hi]\nproviders:\n  - id: replicate:a/b\n    lable: mine\n")
    message = config_error(path)
    assert "providers[0].lable: unknown key beside `id`; did you mean `label`?" in message
    assert "put it under `config:`" in message


def test_misspelt_nested_key_suggests_the_closest(write_config: WriteConfig) -> None:
    path = write_config("""prompts: [hi]
providers:
  - id: replicate:a/b
    config:
      prompt: {prefx: '['}
tests:
  - vars: {a: 1}
    asert: []
""")
    # The file's structure is checked first, then each provider's options.
    assert f"{path}:8: tests[0].asert: unknown key; did you mean `assert`?" in config_error(path)
    path.write_text(path.read_text().replace("asert", "assert"))
    assert (
        f"{path}:5: providers[0].config.prompt.prefx: unknown key; did you mean `prefix`?"
        in config_error(path)
    )


def test_token_like_option_is_refused_without_echoing_it(write_config: WriteConfig) -> None:
    path = write_config("""prompts: [hi]
providers:
  - id: replicate:a/b
    api_key: r8_supersecret
""")
    message = config_error(path)
    assert "providers[0].api_key: unknown key; did you mean `apiKey`?" in message
    assert "r8_supersecret" not in message


def test_bad_api_key_type_is_not_echoed(write_config: WriteConfig) -> None:
    path = write_config("prompts: [hi]\nproviders:\n  - id: replicate:a/b\n    apiKey: 12345678\n")
    message = config_error(path)
    assert "providers[0].apiKey: expected text" in message
    assert "12345678" not in message


def test_same_option_flat_and_nested_is_ambiguous(write_config: WriteConfig) -> None:
    path = write_config("""prompts: [hi]
providers:
  - id: replicate:a/b
    temperature: 0.1
    prefix: x
    config:
      temperature: 0.2
      prompt: {prefix: y}
""")
    message = config_error(path)
    assert "providers[0].temperature: set both beside `id` and under `config:`" in message
    assert "providers[0].prefix: set both as `prefix` and as `config.prompt.prefix`" in message


def test_every_problem_is_listed_at_once(write_config: WriteConfig) -> None:
    path = write_config("""prompts: [hi]
providers:
  - id: nope:x
  - id: replicate:a/b
    seed: one
tests:
  - assert:
      - type: containz
        value: x
""")
    message = config_error(path)
    assert "has 3 problems" in message
    assert "providers[0].id" in message and "providers[1].seed" in message
    assert (
        "tests[0].assert[0].type: unknown assertion type `containz`; did you mean "
        "`contains`?" in message
    )


def test_duplicate_yaml_key_is_an_error(write_config: WriteConfig) -> None:
    path = write_config("prompts: [a]\nproviders: [replicate:a/b]\nprompts: [b]\n")
    assert (
        f"{path}:3: key `prompts` appears twice in the same mapping (first on line 1)"
        in config_error(path)
    )


def test_invalid_yaml_names_line_and_column(write_config: WriteConfig) -> None:
    path = write_config("prompts: [hi\nproviders: x\n")
    assert config_error(path).startswith(f"{path}:")
    assert "this is not valid YAML" in config_error(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "the top level must be a mapping"),
    ],
)
def test_empty_or_non_mapping_file(write_config: WriteConfig, text: str, message: str) -> None:
    assert message in config_error(write_config(text))


def test_missing_config_file(tmp_path: Path) -> None:
    assert "no such file" in config_error(tmp_path / "nope.yaml")


def test_prompts_from_files_relative_to_the_config(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "qa.txt").write_text("Q: <<question>>\nA:\n", encoding="utf-8")
    config = load_config(
        write_config("""
prompts:
  - file://prompts/qa.txt
  - label: short
    raw: 'Answer: <<question>>'
  - Plain <<question>>
providers: [replicate:a/b]
"""),
        ENV,
    )
    qa, short, plain = config.prompts
    assert (qa.label, qa.template, qa.source) == (
        "prompts/qa.txt",
        "Q: <<question>>\nA:\n",
        tmp_path / "prompts" / "qa.txt",
    )
    assert (short.label, short.template) == ("short", "Answer: <<question>>")
    assert plain.label == "Plain <<question>>"


def test_missing_prompt_file_is_named(write_config: WriteConfig, tmp_path: Path) -> None:
    path = write_config("prompts: [file://nope.txt]\nproviders: [replicate:a/b]\n")
    assert f"{path}:1: prompts[0]: cannot read prompt file {tmp_path / 'nope.txt'}" in config_error(
        path
    )


def test_prompt_template_syntax_error(write_config: WriteConfig) -> None:
    path = write_config({**AB, "prompts": ["<% if x %>no end"]})
    assert "prompts[0]: template syntax error (line 1 of the prompt)" in config_error(path)


def test_duplicate_prompt_labels(write_config: WriteConfig) -> None:
    path = write_config(
        {**AB, "prompts": [{"label": "a", "raw": "one"}, {"label": "a", "raw": "two"}]}
    )
    assert "prompts[1].label: label `a` is already used by prompts[0]" in config_error(path)


def test_same_provider_twice_gets_distinct_labels(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(
            {
                "prompts": ["hi"],
                "providers": [
                    {"id": "replicate:a/b", "temperature": 0.1},
                    {"id": "replicate:a/b", "temperature": 0.9},
                ],
            }
        ),
        ENV,
    )
    assert [p.label for p in config.providers] == ["replicate:a/b", "replicate:a/b #2"]


# --- environment -----------------------------------------------------------------------------


def test_environment_fallbacks_are_parsed_to_numbers(write_config: WriteConfig) -> None:
    env = {
        **ENV,
        "REPLICATE_TEMPERATURE": "0.3",
        "REPLICATE_MAX_LENGTH": "512",
        "REPLICATE_MAX_NEW_TOKENS": "256",
        "REPLICATE_TOP_P": "0.9",
        "REPLICATE_TOP_K": "50",
        "REPLICATE_REPETITION_PENALTY": "1.2",
        "REPLICATE_SYSTEM_PROMPT": "Be brief.",
        "REPLICATE_STOP_SEQUENCES": "</s>,STOP",
        "REPLICATE_SEED": "42",
    }
    provider = load_config(write_config(AB), env).providers[0]
    assert dict(provider.input_options) == {
        "temperature": 0.3,
        "max_length": 512,
        "max_new_tokens": 256,
        "top_p": 0.9,
        "top_k": 50,
        "repetition_penalty": 1.2,
        "stop_sequences": "</s>,STOP",
        "seed": 42,
    }
    assert provider.system_prompt == "Be brief."


def test_config_wins_over_environment_and_unset_options_stay_unset(
    write_config: WriteConfig,
) -> None:
    env = {**ENV, "REPLICATE_TEMPERATURE": "0.9", "REPLICATE_SEED": "", "REPLICATE_TOP_K": " "}
    provider = load_config(
        write_config({**AB, "providers": [{"id": "replicate:a/b", "temperature": 0.1}]}), env
    ).providers[0]
    assert dict(provider.input_options) == {"temperature": 0.1}
    assert provider.system_prompt is None


@pytest.mark.parametrize(
    ("variable", "value", "kind"),
    [
        ("REPLICATE_TEMPERATURE", "hot", "a number"),
        ("REPLICATE_MAX_LENGTH", "1.5", "a whole number"),
        ("REPLICATE_SEED", "abc", "a whole number"),
        ("REPLICATE_TOP_P", "nan", "a number"),
    ],
)
def test_bad_environment_value_is_named(
    write_config: WriteConfig, variable: str, value: str, kind: str
) -> None:
    path = write_config(AB)
    message = config_error(path, {**ENV, variable: value})
    assert f"environment variable {variable}={value!r} is not {kind}" in message
    assert "Fix or unset it" in message


def test_bad_environment_value_is_ignored_when_the_config_sets_the_option(
    write_config: WriteConfig,
) -> None:
    path = write_config({**AB, "providers": [{"id": "replicate:a/b", "temperature": 0.2}]})
    config = load_config(path, {**ENV, "REPLICATE_TEMPERATURE": "hot"})
    assert config.providers[0].input_options["temperature"] == 0.2


@pytest.mark.parametrize(
    ("env", "config_key", "source"),
    [
        ({"REPLICATE_API_TOKEN": "r8_a", "REPLICATE_API_KEY": "r8_b"}, {}, "REPLICATE_API_TOKEN"),
        ({"REPLICATE_API_KEY": "r8_b"}, {}, "REPLICATE_API_KEY"),
        ({"REPLICATE_API_TOKEN": "r8_a"}, {"apiKey": "r8_c"}, "`apiKey` in the config"),
    ],
)
def test_token_precedence(
    write_config: WriteConfig, env: dict[str, str], config_key: dict[str, str], source: str
) -> None:
    config = {**AB, "providers": [{"id": "replicate:a/b", **config_key}]}
    provider = load_config(write_config(config), env).providers[0]
    expected = {"REPLICATE_API_TOKEN": "r8_a", "REPLICATE_API_KEY": "r8_b"}.get(source, "r8_c")
    assert provider.token.get_secret_value() == expected
    assert provider.token_source == source
    assert "apiKey" not in provider.input_options
    assert expected not in repr(provider)


def test_no_token_is_a_clear_error(write_config: WriteConfig) -> None:
    path = write_config(AB)
    message = config_error(path, {"REPLICATE_API_TOKEN": " "})
    assert "no Replicate API token for `replicate:a/b`: set REPLICATE_API_TOKEN" in message


# --- tests and assertions --------------------------------------------------------------------


def test_default_test_merges_into_every_test(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(
            {
                **AB,
                "defaultTest": {
                    "vars": {"tone": "formal", "lang": "en"},
                    "assert": [{"type": "is-json"}],
                    "threshold": 0.5,
                },
                "tests": [
                    {"vars": {"lang": "fr"}, "assert": [{"type": "contains", "value": "x"}]},
                    {"description": "own threshold", "threshold": 0.9},
                ],
            }
        ),
        ENV,
    )
    first, second = config.tests
    assert first.vars == {"tone": "formal", "lang": "fr"}
    assert [a.type for a in first.assertions] == ["is-json", "contains"]
    assert (first.threshold, second.threshold) == (0.5, 0.9)
    assert second.vars == {"tone": "formal", "lang": "en"}


@pytest.mark.parametrize(
    ("assertion", "message"),
    [
        ("{type: contains}", "tests[0].assert[0].value: `contains` needs a `value`"),
        ("{type: contains-any, value: {a: 1}}", "`contains-any` needs a list of texts"),
        ("{type: is-json, value: x}", "the value must be a JSON schema"),
        ("{type: latency}", "tests[0].assert[0].threshold: `latency` needs a positive `threshold`"),
        ("{type: regex, value: '(unclosed'}", "invalid regular expression /(unclosed/"),
        ("{type: python, value: 'output ==='}", "the Python code does not compile"),
        ("{type: python, value: 'file://nope.py'}", "no such Python file"),
        ("{type: contains, value: x, weight: -1}", "weight: must be at least 0"),
    ],
)
def test_bad_assertions(write_config: WriteConfig, assertion: str, message: str) -> None:
    path = write_config(
        f"prompts: [hi]\nproviders: [replicate:a/b]\ntests:\n  - assert:\n      - {assertion}\n"
    )
    assert message in config_error(path)


def test_curly_vars_under_angle_syntax_warn_once(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(
            {
                "template_syntax": "angle",
                **AB,
                "prompts": ["Tell me about {{topic}} in {{style}}", "Also {{topic}}"],
                "tests": [{"vars": {"topic": "owls"}}],
            }
        ),
        ENV,
    )
    [warning] = config.warnings
    assert "` has {{topic}};" in warning  # `style` is not a var: no false alarm
    assert "`Also {{topic}}` has {{topic}}." in warning
    assert "template_syntax: curly" in warning and "<<name>>" in warning


def test_curly_syntax_does_not_warn(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(
            {
                "template_syntax": "curly",
                **AB,
                "prompts": ["About {{topic}}"],
                "tests": [{"vars": {"topic": "owls"}}],
            }
        ),
        ENV,
    )
    assert config.warnings == ()


def test_unknown_template_syntax(write_config: WriteConfig) -> None:
    path = write_config({"template_syntax": "jinja", **AB})
    assert "template_syntax: must be one of 'angle' or 'curly'" in config_error(path)


def test_every_unknown_key_of_one_mapping_is_reported(write_config: WriteConfig) -> None:
    path = write_config(
        "prompt: [hi]\nprovders: [replicate:a/b]\ntests:\n  - var: {}\n    asert: []\n"
    )
    error = config_error(path)
    for line, key, fix in [
        (1, "prompt", "prompts"),
        (2, "provders", "providers"),
        (4, "tests[0].var", "vars"),
        (5, "tests[0].asert", "assert"),
    ]:
        assert f"{path}:{line}: {key}: unknown key; did you mean `{fix}`?" in error
