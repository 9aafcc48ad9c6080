"""promptfoo's assertion types by another name here, and those reval does not have, with why and
what to write instead (the names from promptfoo's src/types BaseAssertionTypesSchema)."""

from __future__ import annotations

# promptfoo's other names for a type reval has.
ALIASES = {"model-graded-factuality": "factuality"}

_AS_PYTHON = "write the check as a `python` assertion"
_LOGPROBS = "it needs the model's token log-probabilities, which Replicate's predictions lack"
_TRACES = "it reads OpenTelemetry traces, which reval does not record"
_CALLS = (
    "it checks OpenAI function or tool calls, and Replicate's text models return text (check a "
    "JSON answer with `is-json` and a schema)"
)
NOT_HERE = {
    "perplexity": _LOGPROBS,
    "perplexity-score": _LOGPROBS,
    "cost": "reval does not price Replicate predictions yet (bound the time with `latency`)",
    "finish-reason": "Replicate's predictions do not say why a generation stopped",
    "is-valid-function-call": _CALLS,
    "is-valid-openai-function-call": _CALLS,
    "is-valid-openai-tools-call": _CALLS,
    "meteor": "it needs WordNet's data, which reval does not ship (`bleu`, `gleu` and `rouge-n` "
    "score word overlap)",
    "webhook": f"reval posts outputs to no URL a config names; {_AS_PYTHON} that calls it",
    "ruby": _AS_PYTHON,
    "classifier": "it runs a Hugging Face classifier; use `moderation` (Llama Guard on "
    "Replicate) or a `python` check",
    "guardrails": "it is a promptfoo red-team check; use `moderation` or `is-refusal`",
    "pi": "it calls Prompt Security's API; use `llm-rubric`, judged on Replicate",
    "human": "it is a rating given in promptfoo's viewer, which reval does not have yet",
    "conversation-relevance": "it judges multi-turn conversations, which reval does not run",
    "trace-span-count": _TRACES,
    "trace-span-duration": _TRACES,
    "trace-error-spans": _TRACES,
}
