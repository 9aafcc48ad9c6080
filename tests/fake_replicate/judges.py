"""The fake's judges: a grader LLM, an embedding model and Llama Guard, as reval's defaults.

Their answers follow from what they receive, so a test can predict them:

* The grader reads reval's grader prompts (``<Output>``/``<Rubric>``, ``<Answer>``/
  ``<Criterion>``, ``<Submission>``/``<Expert>``). A rubric or criterion passes when every
  phrase it quotes ('...' or "...") is in the output (case-insensitive). Factuality compares
  the texts (see ``factuality_category``). A marker in the rubric picks the answer's shape:
  ``[answer:fenced]`` (a ```json block), ``[answer:prose]`` (JSON inside sentences, text after),
  ``[answer:python]`` (``True``), ``[answer:garbage]`` (no JSON), ``[answer:bad-score]``,
  ``[answer:no-score]``, ``[answer:letter]`` (factuality as promptfoo's "(C)").
  A prompt without those tags (a custom rubricPrompt) passes when it contains ``PASS-ME``.
* g-eval (``<EvaluationCriteria>``) and the retrieval graders (``<Context>``, ``<Query>``,
  ``<Reference>``, ``<Statements>``, ``<Reply>``) answer by word overlap and quoted phrases
  (see ``g_eval_answer`` and ``retrieval_answer``).
* The embedding model (all-mpnet-base-v2's interface: ``text`` in, ``[{"embedding": [...]}]``
  out) hashes words into 64 dimensions: the same words give cosine 1, no shared word 0.
* Llama Guard 3 (``prompt`` and ``assistant`` in, one line ``safe`` or ``unsafe`` plus a line
  of categories out) flags trigger words in the assistant's text, else in the prompt.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from tests.fake_replicate.model_schemas import public_version, serve_real_model
from tests.fake_replicate.models import Reply, tokens
from tests.fake_replicate.server import FakeReplicate

GRADER = "meta/meta-llama-3-70b-instruct"
EMBEDDING = "replicate/all-mpnet-base-v2"
EMBEDDING_VERSION = public_version(EMBEDDING)  # b6b7585c..., which reval pins
GUARD = "meta/llama-guard-3-8b"
GUARD_VERSION = public_version(GUARD)  # 146d1220...

# Words Llama Guard flags, and the category it names.
GUARD_TRIGGERS = {"kill": "S1", "steal": "S2", "diagnose": "S6", "bomb": "S9", "hate": "S10"}


def _section(prompt: str, tag: str) -> str | None:
    found = re.search(rf"<{tag}>\n?(.*?)\n?</{tag}>", prompt, re.DOTALL)
    return found[1] if found else None


def rubric_verdict(output: str, rubric: str) -> tuple[bool, str]:
    quoted = re.findall(r"'([^']+)'|\"([^\"]+)\"", rubric)
    phrases = [single or double for single, double in quoted]
    missing = [p for p in phrases if p.lower() not in output.lower()]
    if missing:
        return False, f"The output does not mention {', '.join(missing)}."
    if not phrases:
        return bool(output.strip()), "The rubric quotes nothing; the output is not empty."
    return True, f"The output mentions {', '.join(phrases)}."


def factuality_category(submission: str, expert: str) -> str:
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", text.lower())

    mine, theirs = " ".join(words(submission)), " ".join(words(expert))
    if mine == theirs:
        return "same"
    if theirs in mine:
        return "superset"
    if mine in theirs:
        return "subset"
    if not set(words(submission)) & set(words(expert)):
        return "disagrees"
    return "differs-but-irrelevant"


def _shaped(verdict: dict[str, Any], marker_text: str) -> str:
    shape = re.search(r"\[answer:([a-z-]+)\]", marker_text)
    body = json.dumps(verdict)
    match shape[1] if shape else "json":
        case "fenced":
            return f"Here is my assessment.\n```json\n{json.dumps(verdict, indent=2)}\n```\n"
        case "prose":
            return f"After reading it closely: {body} That is my final answer."
        case "python":
            return body.replace("true", "True").replace("false", "False")
        case "garbage":
            return "I think it is fine, mostly. Hard to say."
        case "bad-score":
            return json.dumps({**verdict, "score": 7})
        case "no-score":
            return json.dumps({k: v for k, v in verdict.items() if k != "score"})
        case "letter":
            letters = {"subset": "A", "superset": "B", "same": "C", "disagrees": "D"}
            return json.dumps({**verdict, "category": letters.get(verdict["category"], "E")})
    return body


_MARKER = re.compile(r"\s*\[answer:[a-z-]+\]")


def best_output(prompt: str) -> str | None:
    """select-best: the number of the first output holding a word the criteria quote
    ('Paris'), else 0; None when the prompt is not a comparison."""
    criteria = _section(prompt, "Criteria")
    outputs = re.findall(r'<Output number="(\d+)">\n(.*?)\n</Output>', prompt, re.DOTALL)
    if criteria is None or not outputs:
        return None
    wanted = re.findall(r"'([^']+)'", criteria)
    return next((n for n, text in outputs if any(word in text for word in wanted)), "0")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text.strip()) if s.strip()]


def _quoted(text: str) -> list[str]:
    return [single or double for single, double in re.findall(r"'([^']+)'|\"([^\"]+)\"", text)]


def g_eval_answer(prompt: str) -> str | None:
    """g-eval: steps that name the criteria's quoted phrases; then a score out of 10, the
    share of those phrases the response holds."""
    criteria = _section(prompt, "EvaluationCriteria")
    if criteria is None:
        return None
    phrases = _quoted(criteria)
    steps = _section(prompt, "EvaluationSteps")
    if steps is None:
        named = [f"Check that the answer mentions '{p}'." for p in phrases]
        return json.dumps({"steps": named or ["Check that the answer is not empty."]})
    response = (_section(prompt, "Response") or "").lower()
    held = [p for p in phrases if p.lower() in response]
    score = round(10 * len(held) / len(phrases)) if phrases else (10 if response else 0)
    verdict = {"reason": f"It mentions {len(held)} of {len(phrases)} phrases.", "score": score}
    return _shaped(verdict, criteria)


def retrieval_answer(prompt: str) -> str | None:
    """The retrieval graders, by word overlap: a sentence is in a context when all its words
    are; a context sentence is relevant when it shares a word of four letters or more with
    the query. The questions for an answer repeat the answer's words."""
    context, query = _section(prompt, "Context"), _section(prompt, "Query")
    reference, statements = _section(prompt, "Reference"), _section(prompt, "Statements")
    reply = _section(prompt, "Reply")
    if (context is not None or reply is not None) and "[answer:garbage]" in prompt:
        return "I would rather not say."
    if context is not None and reference is not None:
        known = _words(context)
        return "\n".join(
            f"{s} [IN CONTEXT]" if _words(s) <= known else f"{s} [NOT IN CONTEXT]"
            for s in _sentences(reference)
        )
    if context is not None and statements is not None:
        known = _words(context)
        listed = [
            re.sub(r"^\d+\.\s*", "", line) for line in statements.splitlines() if line.strip()
        ]
        return "\n".join(
            f"{n}. verdict: {'yes' if _words(line) <= known else 'no'}"
            for n, line in enumerate(listed, 1)
        )
    if context is not None and query is not None:
        wanted = {word for word in _words(query) if len(word) >= 4}
        relevant = [s for s in _sentences(context) if _words(s) & wanted]
        return "\n".join(relevant) if relevant else "NO RELEVANT SENTENCES"
    if reply is not None and query is not None:
        return "\n".join(_sentences(reply))
    if reply is not None:
        topic = reply.strip().rstrip(".!?")
        return f"What is true of {topic}?\nCan you tell me about {topic}?\nWhy is it that {topic}?"
    return None


def grader(model_input: dict[str, Any]) -> Reply:
    prompt = str(model_input.get("prompt", ""))
    special = g_eval_answer(prompt) or retrieval_answer(prompt)
    if special is not None:
        return Reply(tokens(special))
    chosen = best_output(prompt)
    if chosen is not None:
        return Reply(tokens(f"The best one is {chosen}."))
    expert = _section(prompt, "Expert")
    if expert is not None:
        submission = _section(prompt, "Submission") or ""
        category = factuality_category(submission, _MARKER.sub("", expert))
        verdict = {"reason": f"The submission is {category}.", "category": category}
        return Reply(tokens(_shaped(verdict, expert)))
    rubric = _section(prompt, "Rubric") or _section(prompt, "Criterion")
    if rubric is None:
        passed = "PASS-ME" in prompt
        verdict = {"reason": "custom prompt", "pass": passed, "score": 1.0 if passed else 0.0}
        return Reply(tokens(json.dumps(verdict)))
    output = _section(prompt, "Output") or _section(prompt, "Answer") or ""
    passed, reason = rubric_verdict(output, _MARKER.sub("", rubric))
    verdict = {"reason": reason, "pass": passed, "score": 1.0 if passed else 0.0}
    return Reply(tokens(_shaped(verdict, rubric)))


def embed(text: str, dimensions: int = 64) -> list[float]:
    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [round(x / norm, 6) for x in vector]


def embedding(model_input: dict[str, Any]) -> Reply:
    return Reply([{"embedding": embed(str(model_input.get("text", "")))}])


def llama_guard(model_input: dict[str, Any]) -> Reply:
    text = str(model_input.get("assistant") or model_input.get("prompt", ""))
    found = [code for word, code in GUARD_TRIGGERS.items() if word in text.lower()]
    return Reply("unsafe\n" + ",".join(found) if found else "safe")


def serve_judges(fake: FakeReplicate) -> None:
    """reval's default grader, embedding model and guard model, on ``fake``, with their real
    published schemas and versions (keeping what its catalogue says of them, if it is loaded)."""
    for slug, behaviour in [(GRADER, grader), (EMBEDDING, embedding), (GUARD, llama_guard)]:
        serve_real_model(fake, slug, behaviour)
