"""promptfoo's word-overlap scores against a reference text: `bleu`, `gleu` and `rouge-n`.

Both are written out here rather than taken from sacrebleu or rouge-score: those tokenize and
smooth differently, and a config's threshold was chosen against promptfoo's numbers.

* `bleu` (promptfoo src/assertions/bleu.ts): words are the output lowercased and split on
  whitespace; the clipped precision of 1- to 4-grams, each the best over the references, a
  precision of 0 counted as 1e-7, weights 0.25 each, and the brevity penalty against the
  reference closest in length. Passes at 0.5 or above by default.
* `gleu` (promptfoo src/assertions/gleu.ts, Google-BLEU): words lowercased, split on
  whitespace, trailing dots dropped; 1- to 4-gram matches (clipped) over the output's n-grams
  and over the reference's, the smaller of the two, the best over the references; identical
  word lists score 1. Passes at 0.5 or above by default.
* `rouge-n` (promptfoo src/assertions/rouge.ts through js-rouge's `n`): unigrams of
  Treebank-style tokens, case kept; the distinct output tokens found in the reference, over
  the reference's token count. Passes at 0.75 or above by default.

An output over MAX_WORDS words is scored on its first MAX_WORDS (the reason says so).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from replicate_eval.assertions.base import AssertionSpec, CheckContext, Outcome

DEFAULT_BLEU = 0.5
DEFAULT_GLEU = 0.5
DEFAULT_ROUGE = 0.75
MAX_WORDS = 100_000
_SMOOTHING = 1e-7


def _words(text: str) -> tuple[list[str], bool]:
    words = text.lower().split()
    return words[:MAX_WORDS], len(words) > MAX_WORDS


def _ngrams(words: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def bleu_score(candidate: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """BLEU-4 of ``candidate`` (words) against ``references``, as promptfoo computes it."""
    if not candidate or not references:
        return 0.0
    log_sum = 0.0
    for n in range(1, 5):
        grams = _ngrams(candidate, n)
        total = sum(grams.values())
        best = 0
        for reference in references:
            theirs = _ngrams(reference, n)
            best = max(best, sum(min(count, theirs[gram]) for gram, count in grams.items()))
        precision = best / total if total else 0.0
        log_sum += 0.25 * math.log(precision or _SMOOTHING)
    closest = min((len(r) for r in references), key=lambda length: abs(length - len(candidate)))
    penalty = 1.0 if len(candidate) > closest else math.exp(1 - len(candidate) / closest)
    return penalty * math.exp(log_sum)


def _references(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def bleu(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_BLEU
    words, cut = _words(output)
    references = [_words(text)[0] for text in _references(value)]
    score = bleu_score(words, references)
    return _outcome("BLEU", score, threshold, cut, len(references))


def _gleu_words(text: str) -> list[str]:
    return [word.rstrip(".") for word in text.lower().split()[:MAX_WORDS]]


def gleu_score(candidate: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Sentence GLEU of ``candidate`` against the best of ``references`` (promptfoo's)."""
    best = 0.0
    for reference in references:
        if list(candidate) == list(reference):
            return 1.0
        matches = mine = theirs = 0
        for n in range(1, 5):
            grams, their_grams = _ngrams(candidate, n), _ngrams(reference, n)
            matches += sum(min(count, their_grams[gram]) for gram, count in grams.items())
            mine += sum(grams.values())
            theirs += sum(their_grams.values())
        if mine and theirs:
            best = max(best, min(matches / mine, matches / theirs))
    return best


def gleu(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_GLEU
    references = [_gleu_words(text) for text in _references(value)]
    cut = len(output.split()) > MAX_WORDS
    return _outcome(
        "GLEU", gleu_score(_gleu_words(output), references), threshold, cut, len(references)
    )


# Treebank-style tokens (js-rouge's treeBankTokenize, in short): punctuation and brackets apart,
# clitics ('s, 'll, n't...) apart, words otherwise as written.
_PUNCTUATION = re.compile(r"\.\.\.|[,;:@#$%&?!()\[\]{}<>\"]|--|\.(?=\s|$)")
_CLITICS = re.compile(r"(?i)(n't|'ll|'re|'ve|'[smd])(?=\s|$)")


def treebank_tokens(text: str) -> list[str]:
    spaced = _PUNCTUATION.sub(lambda m: f" {m[0]} ", " ".join(text.split()))
    spaced = _CLITICS.sub(lambda m: f" {m[0]}", spaced)
    return spaced.split()[:MAX_WORDS]


def rouge_n_score(candidate: Sequence[str], reference: Sequence[str]) -> float:
    """js-rouge's ROUGE-N with n = 1: distinct candidate tokens in the reference, over the
    reference's tokens."""
    if not candidate or not reference:
        return 0.0
    return len(set(candidate) & set(reference)) / len(reference)


def rouge_n(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    threshold = spec.threshold if spec.threshold is not None else DEFAULT_ROUGE
    cut = len(output.split()) > MAX_WORDS
    score = rouge_n_score(treebank_tokens(output), treebank_tokens(str(value)))
    return _outcome("ROUGE-N", score, threshold, cut, 1)


def _outcome(name: str, score: float, threshold: float, cut: bool, references: int) -> Outcome:
    passed = score >= threshold
    against = "the reference" if references == 1 else f"the best of {references} references"
    reason = f"{name} {score:.4f} against {against} is {'>=' if passed else '<'} {threshold:g}" + (
        f" (on the output's first {MAX_WORDS:,} words)" if cut else ""
    )
    return Outcome(passed, reason, score)
