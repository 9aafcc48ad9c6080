"""What a hostile case is: files to write, a command to run, a fake to set up, what must happen.

A case is data. The families in ``cases.py`` build them with the small helpers below, the way a
user (or an attacker) writes configs: a YAML text, maybe side files, a command line, a few
environment variables, and a fake Replicate that answers, fails or stalls as scripted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tests.fake_replicate import FakeReplicate, Reply, sdxl_schema, tokens

# The fake's token (tests/fake_replicate/server.py DEFAULT_TOKEN): it must never be printed.
TOKEN = "r8_fake_token_for_tests_0123456789abcdef"
# A second secret, for tokens that live in a config (`apiKey`) or a .env file.
OTHER_TOKEN = "r8_other_secret_token_0123456789abcdefgh"

Setup = Callable[[FakeReplicate], None]

# Issue 13's sections, which a failing case is reported under.
USER_CODE = "user code must never take reval down"
TOKEN_NEVER_LEAVES = "the token never leaves"
NOTHING_IS_NOT_A_PASS = "nothing evaluated is not a pass; a broken setup is exit 2"
RESULTS_NEVER_LOST = "results are never lost"
PAYING_ONCE = "paying once, and nothing left running"
OUTPUT_IS_DATA = "model output is data, not instructions"
RIGHT_MESSAGES = "counts and messages that are right"
CONFIG_MISTAKES = "config mistakes get a clear exit 2"  # the README's promise, bullet 3 of 13
ROBUSTNESS = "other hostile input (no issue-13 bullet)"


@dataclass(frozen=True)
class Sparse:
    """A side file of this many bytes that takes no disk space (a "several GB" var file)."""

    size: int


@dataclass(frozen=True)
class Link:
    """A side file that is a symbolic link to ``target`` (``/dev/zero``, a directory...)."""

    target: str


@dataclass(frozen=True)
class Folder:
    """A side "file" that is a directory."""


FileContent = str | bytes | Sparse | Link | Folder


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    bullet: str
    args: tuple[str, ...]  # after `reval`
    files: Mapping[str, FileContent] = field(default_factory=dict)
    env: Mapping[str, str | None] = field(default_factory=dict)  # None: unset
    fake: tuple[Setup, ...] = ()
    expect: frozenset[int] = frozenset({0})
    results: tuple[str, ...] = ()  # files that must exist afterwards (unless exit 2)
    checks: tuple[str, ...] = ()  # extra named checks (tests/hostile/checks.py)
    must_say: str | None = None  # a regex stdout or stderr must match
    action: str | None = None  # a signal or a closed stdout (tests/hostile/execute.py)
    timeout: float = 20.0  # wall clock, seconds; then the process group is killed
    process: bool = False  # needs a real process (exits, hangs, signals, huge memory)
    waits: float = 0.0  # seconds it must wait on a documented limit (--check-timeout) first
    secrets: tuple[str, ...] = ()  # tokens besides the fake's that must never be shown
    max_predictions: int | None = None  # paid once: at most this many predictions made


# --- building blocks ---------------------------------------------------------------------------
MODEL = "acme/echo"  # an official model on the fake: runs by name, echoes its prompt
PROVIDER = f"replicate:{MODEL}"
RUN = ("run", "config.yaml", "-o", "results.json")
VALIDATE = ("validate", "config.yaml")


def config(
    *,
    prompts: str = "['Say <<topic>>']",
    providers: str = f"[{PROVIDER}]",
    tests: str = "\n  - vars: {topic: cats}\n    assert: [{type: contains, value: cats}]",
    extra: str = "",
) -> str:
    """A small, valid config; each hostile case swaps in its own part."""
    return f"prompts: {prompts}\nproviders: {providers}\ntests: {tests}\n{extra}"


GOOD = config()


def echo_model(fake: FakeReplicate) -> None:
    fake.add_model(MODEL, official=True)


def model(answer: Callable[[dict[str, object]], Reply], slug: str = MODEL) -> Setup:
    """An official model on the fake that answers with ``answer(input)``."""

    def add(fake: FakeReplicate) -> None:
        fake.add_model(slug, answer, official=True)

    return add


def says(output: object, **reply: float | str) -> Setup:
    """The model under test answers ``output`` (a string is streamed as tokens)."""
    value = tokens(output) if isinstance(output, str) else output
    return model(lambda _input: Reply(output=value, **reply))  # type: ignore[arg-type]


def image_says(output: object) -> Setup:
    """An image model (SDXL's schema) that answers ``output``, whatever it is."""

    def add(fake: FakeReplicate) -> None:
        fake.add_model(
            MODEL, lambda _input: Reply(output=output), official=True, openapi_schema=sdxl_schema()
        )

    return add


def fault(method: str, path: str, status: int, body: object = None, **options: object) -> Setup:
    """A scripted fault of the fake (FakeReplicate.fail_next)."""

    def script(fake: FakeReplicate) -> None:
        fake.fail_next(method, path, status, body, **options)  # type: ignore[arg-type]

    return script


def stall(method: str, path: str, seconds: float, times: int = 1) -> Setup:
    def script(fake: FakeReplicate) -> None:
        fake.stall_next(method, path, seconds, times=times)

    return script


def catalogue(fake: FakeReplicate) -> None:
    fake.load_catalogue()


def problem(status: int, title: str, detail: str) -> dict[str, object]:
    return {"title": title, "detail": detail, "status": status}


CREATE = r"/predictions$"  # every way of creating a prediction


class Family:
    """Cases of one family, with its defaults; calling it adds a case."""

    def __init__(self, name: str, bullet: str, **defaults: object) -> None:
        self.name = name
        self.bullet = bullet
        self.defaults: dict[str, object] = {
            "args": RUN,
            "fake": (echo_model,),
            "results": (),
            **defaults,
        }
        self.cases: list[Case] = []

    def __call__(
        self,
        name: str,
        yaml: str | bytes | None = GOOD,
        *,
        files: Mapping[str, FileContent] | None = None,
        expect: int | tuple[int, ...] | None = None,
        **fields: object,
    ) -> Case:
        options = {**self.defaults, **fields}
        written: dict[str, FileContent] = {} if yaml is None else {"config.yaml": yaml}
        written.update(files or {})
        default = options.pop("expect", 0)
        codes = default if expect is None else expect
        options.setdefault("bullet", self.bullet)
        case = Case(
            name=f"{self.name}/{name}",
            family=self.name,
            files=written,
            expect=frozenset((codes,) if isinstance(codes, int) else codes),  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )
        self.cases.append(case)
        return case
