"""`options.rubricPrompt`: a grader prompt from the config, read and checked at load time.

promptfoo writes it as text, as a list of messages, or as a JSON string of messages; all three
work. Everything that can be checked before a prediction is: template syntax, a chat's shape,
names no test var or grader variable gives, and (as warnings) `{{output}}` written under the
`<<var>>` syntax, or a prompt that never shows the grader the output.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from jinja2 import TemplateSyntaxError

from replicate_eval.assertions import GraderPrompt
from replicate_eval.assertions.base import flat_assertions
from replicate_eval.config.problems import Problem
from replicate_eval.config.schema import ChatMessage
from replicate_eval.config.yaml_source import Loc
from replicate_eval.judging.checks import GRADER_VARIABLES
from replicate_eval.judging.rag import missing_vars
from replicate_eval.templating import Templates, curly_vars

if TYPE_CHECKING:
    from replicate_eval.config.types import TestCase


def read_grader_prompt(given: str | list[ChatMessage] | None) -> GraderPrompt | None:
    """The prompt as reval keeps it: text, or (role, content) messages. A JSON string of
    messages (promptfoo's other way to write a chat) is read as the messages."""
    if given is None:
        return None
    if isinstance(given, str):
        try:
            messages = json.loads(given) if given.lstrip().startswith("[") else None
        except ValueError:
            messages = None
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages
        ):
            return given
        return tuple((str(m["role"]), str(m.get("content", ""))) for m in messages)
    return tuple((message.role, message.content) for message in given)


def prompt_texts(prompt: GraderPrompt) -> list[str]:
    """The template texts of a grader prompt: itself, or each message's content."""
    return [prompt] if isinstance(prompt, str) else [content for _, content in prompt]


def check_grader_prompt(
    given: str | list[ChatMessage] | None, here: Loc, templates: Templates
) -> list[Problem]:
    """Template syntax, and a chat's shape: system messages (joined into the system prompt)
    and exactly one user message, as a Replicate text model takes them."""
    prompt = read_grader_prompt(given)
    if prompt is None:
        return []
    if not prompt_texts(prompt) or not any(text.strip() for text in prompt_texts(prompt)):
        return [Problem(here, "the grader prompt is empty")]
    problems = []
    if isinstance(prompt, tuple):
        roles = [role for role, _ in prompt]
        others = sorted(set(roles) - {"system", "user"})
        if others:
            problems.append(
                Problem(here, f"a grader chat has `system` and `user` messages, not `{others[0]}`")
            )
        users = roles.count("user")
        if users != 1:
            message = f"a chat needs exactly one `user` message (found {users})"
            problems.append(Problem(here, message))
    for text in prompt_texts(prompt):
        syntax = templates.check(text)
        if syntax:
            where = f" (line {syntax.line})" if syntax.line else ""
            problems.append(Problem(here, f"template syntax error{where}: {syntax.message}"))
    return problems


_RAG_VARS = {"query": "the question asked", "context": "the retrieved text, or a list of chunks"}


def _needed_var_problems(test: TestCase, here: Loc) -> list[Problem]:
    """The retrieval graders' vars (`query`, `context`) a test lacks: found before any
    prediction is paid for, not after."""
    problems: list[Problem] = []
    for spec in flat_assertions(test.assertions):
        missing = missing_vars(spec.kind, test.vars)
        if missing:
            names = " and ".join(f"`{name}`" for name in missing)
            meaning = "; ".join(f"{name}: {_RAG_VARS[name]}" for name in missing)
            message = (
                f"`{spec.kind}` reads the test's {names} var{'s' if len(missing) > 1 else ''} "
                f"({meaning}), which tests[{test.index}] does not define"
            )
            if message not in {problem.message for problem in problems}:
                problems.append(Problem((*here, "vars"), message))
    return problems


def grader_prompt_findings(
    test: TestCase, here: Loc, templates: Templates, test_loc: Loc = ()
) -> tuple[list[Problem], list[str]]:
    """Problems (names neither the test's vars nor the grader give) and warnings about the
    grader prompt a test's assertions use, at ``here``; and the vars its retrieval graders
    need that the test (at ``test_loc``) lacks."""
    prompts = {spec.grading.prompt for spec in flat_assertions(test.assertions) if spec.grading}
    known = GRADER_VARIABLES | set(test.vars)
    problems = _needed_var_problems(test, test_loc)
    warnings: list[str] = []
    for prompt in prompts - {None}:
        assert prompt is not None
        texts = prompt_texts(prompt)
        try:
            used = {name for text in texts for name in templates.variables(text)}
        except TemplateSyntaxError:
            continue  # reported by check_grader_prompt
        missing = sorted(used - known)
        if missing:
            names = ", ".join(f"`{name}`" for name in missing)
            problems.append(
                Problem(
                    here,
                    f"the grader prompt uses {names}, which tests[{test.index}] does not define "
                    f"(a grader prompt has {', '.join(sorted(GRADER_VARIABLES))} and the "
                    "test's vars)",
                )
            )
        literal = sorted({n for text in texts for n in curly_vars(text, known)})
        if templates.syntax == "angle" and literal:
            shown = ", ".join(f"{{{{{name}}}}}" for name in literal)
            warnings.append(
                f"the grader prompt (options.rubricPrompt) has {shown}: under reval's `<<var>>` "
                "syntax these are sent as literal text; write `<<output>>`, or add "
                "`template_syntax: curly` at the top of the config"
            )
        elif not used & {"output", "completion"}:
            warnings.append(
                "the grader prompt (options.rubricPrompt) never shows the grader the output: "
                "it has no `output` (or `completion`) variable"
            )
    return problems, warnings
