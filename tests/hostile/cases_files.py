"""Hostile resources: YAML bombs, numbers and nesting beyond reason, side files that never end,
a corrupt cache, output paths that cannot be written."""

from __future__ import annotations

from tests.hostile.case import (
    PROVIDER,
    RESULTS_NEVER_LOST,
    RIGHT_MESSAGES,
    RUN,
    VALIDATE,
    Case,
    Family,
    Folder,
    Link,
    Sparse,
    config,
)

RESULTS = ("results.json",)
NO_ASSERT = "\n  - vars: {topic: cats}"


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ",".join(f"*{previous}" for _ in range(9)) + "]")
    return "\n".join(lines) + "\n"


def nested(depth: int, leaf: str = "1") -> str:
    return "{k: " * depth + leaf + "}" * depth


def bombs() -> list[Case]:
    f = Family("bomb", RESULTS_NEVER_LOST, expect=2, results=RESULTS, process=True, timeout=20.0)
    f("billion-laughs-top", billion_laughs() + config(), must_say=r"config\.yaml:\d+")
    f(
        "billion-laughs-in-var",
        config(tests="\n  - vars: {topic: *i}").replace(
            "prompts:", billion_laughs() + "prompts:", 1
        ),
    )
    f("cyclic-anchor-var", config(tests="\n  - vars: &v {topic: cats, self: *v}"))
    f("cyclic-list", config(tests="\n  - vars: {topic: &l [*l]}"))
    f("self-referencing-test", config(tests="\n  - &t {vars: {topic: cats, me: *t}}"))
    f("cyclic-in-provider-config", config(providers=f"[{{id: {PROVIDER}, config: &c {{x: *c}}}}]"))
    f("vars-nested-300", config(tests=f"\n  - vars: {{topic: cats, deep: {nested(300)}}}"))
    f("vars-nested-5000", config(tests=f"\n  - vars: {{topic: cats, deep: {nested(5000)}}}"))
    f(
        "vars-nested-50-is-fine",
        config(tests=f"\n  - vars: {{topic: cats, deep: {nested(50)}}}"),
        expect=0,
    )
    f(
        "list-nested-300",
        config(tests="\n  - vars: {topic: cats, deep: " + "[" * 300 + "]" * 300 + "}"),
    )
    f("int-5000-digits-var", config(tests="\n  - vars: {topic: cats, n: " + "7" * 5000 + "}"))
    f(
        "int-5000-digits-weight",
        config(
            tests="\n  - vars: {topic: c}\n    assert: [{type: contains, value: c, weight: "
            + "9" * 5000
            + "}]"
        ),
    )
    f(
        "int-5000-digits-temperature",
        config(providers=f"[{{id: {PROVIDER}, temperature: {'1' * 5000}}}]"),
    )
    f(
        "float-overflow-weight",
        config(
            tests="\n  - vars: {topic: c}\n    assert: [{type: contains, value: c, weight: 1e999}]"
        ),
    )
    for where, text in [
        (
            "weight-nan",
            "\n  - vars: {topic: c}\n    assert: [{type: contains, value: c, weight: .nan}]",
        ),
        (
            "weight-inf",
            "\n  - vars: {topic: c}\n    assert: [{type: contains, value: c, weight: .inf}]",
        ),
        (
            "threshold-nan",
            "\n  - vars: {topic: c}\n    threshold: .nan\n    assert: [{type: contains, value: c}]",
        ),
        (
            "threshold-minus-inf",
            "\n  - vars: {topic: c}\n    threshold: -.inf"
            "\n    assert: [{type: contains, value: c}]",
        ),
        (
            "assert-threshold-nan",
            "\n  - vars: {topic: c}\n    assert: [{type: similar, value: c, threshold: .nan}]",
        ),
        ("latency-inf", "\n  - vars: {topic: c}\n    assert: [{type: latency, threshold: .inf}]"),
        ("var-nan", "\n  - vars: {topic: .nan}"),
    ]:
        f(
            where,
            config(tests=text),
            process=False,
            expect=(2,) if "var" not in where else (0, 2, 100),
        )
    f(
        "temperature-nan",
        config(providers=f"[{{id: {PROVIDER}, temperature: .nan}}]"),
        process=False,
    )
    f("fail-under-inf", args=(*RUN, "--fail-under", "inf"), process=False)
    return f.cases


def side_files() -> list[Case]:
    f = Family("files", RESULTS_NEVER_LOST, expect=2, results=RESULTS)
    var = "\n  - vars: {topic: 'file://%s'}"
    f("var-dev-zero", config(tests=var % "/dev/zero"), process=True)
    f("var-dev-urandom", config(tests=var % "/dev/urandom"), process=True)
    f(
        "var-link-to-dev-zero",
        config(tests=var % "zero.txt"),
        files={"zero.txt": Link("/dev/zero")},
        process=True,
    )
    f(
        "var-sparse-5gb",
        config(tests=var % "big.txt"),
        files={"big.txt": Sparse(5 * 2**30)},
        process=True,
    )
    f("var-missing-file", config(tests=var % "nope.txt"), must_say="nope.txt")
    f("var-directory", config(tests=var % "adir"), files={"adir": Folder()})
    f(
        "var-binary-file",
        config(tests=var % "bin.dat"),
        files={"bin.dat": bytes(range(256)) * 64},
        expect=(0, 2, 100),
    )
    f("var-etc-passwd-ok", config(tests=var % "/etc/hostname"), expect=(0, 2))
    f("prompt-glob-whole-fs", config(prompts="['file:///**/*.txt']"), process=True, timeout=20.0)
    f("prompt-file-missing", config(prompts="['file://nope.txt']"), must_say="nope.txt")
    f("prompt-file-dev-zero", config(prompts="['file:///dev/zero']"), process=True)
    f(
        "prompt-file-binary",
        config(prompts="['file://p.bin']"),
        files={"p.bin": bytes(range(256))},
        expect=(0, 2, 100),
    )
    f(
        "prompt-file-sparse-5gb",
        config(prompts="['file://p.txt']"),
        files={"p.txt": Sparse(5 * 2**30)},
        process=True,
    )
    f("tests-file-missing", config(tests="file://cases.csv"), must_say=r"config\.yaml:3")
    f("tests-file-dev-zero", config(tests="file:///dev/zero"), process=True)
    f("tests-file-directory", config(tests="file://cases.json"), files={"cases.json": Folder()})
    f(
        "tests-json-not-a-list",
        config(tests="file://cases.json"),
        files={"cases.json": '{"vars": {}}'},
        expect=(0, 2),
    )
    f(
        "tests-json-deeply-nested",
        config(tests="file://cases.json"),
        files={"cases.json": "[" * 100_000 + "]" * 100_000},
    )
    f(
        "tests-json-vars-nested",
        config(tests="file://cases.json"),
        files={
            "cases.json": '[{"vars": {"topic": "c", "d": '
            + '{"k": ' * 5000
            + "1"
            + "}" * 5000
            + "}}]"
        },
    )
    f(
        "tests-jsonl-deeply-nested",
        config(tests="file://cases.jsonl"),
        files={"cases.jsonl": '{"vars": {"topic": "a"}}\n' + "[" * 100_000 + "]" * 100_000 + "\n"},
    )
    f(
        "tests-jsonl-bad-line",
        config(tests="file://cases.jsonl"),
        files={"cases.jsonl": '{"vars": {"topic": "a"}}\n{oops\n'},
        must_say=r"cases\.jsonl:2",
    )
    f(
        "tests-json-nan",
        config(tests="file://cases.json"),
        files={"cases.json": '[{"vars": {"topic": NaN}}]'},
        expect=(0, 2, 100),
    )
    f(
        "tests-json-huge-int",
        config(tests="file://cases.json"),
        files={"cases.json": '[{"vars": {"topic": ' + "1" * 5000 + "}}]"},
    )
    f(
        "tests-yaml-bomb",
        config(tests="file://cases.yaml"),
        files={"cases.yaml": billion_laughs() + "- vars: {}\n"},
        process=True,
    )
    f(
        "tests-yaml-cyclic",
        config(tests="file://cases.yaml"),
        files={"cases.yaml": "- &t {vars: {topic: *t}}\n"},
    )
    f(
        "csv-icontain-prefix",
        config(tests="file://cases.csv"),
        files={"cases.csv": "topic,__expected\ncats,icontain: x\n"},
        must_say=r"cases\.csv(:2|.*(row|line) ?2)",
        bullet=RIGHT_MESSAGES,
    )
    f(
        "csv-python-prefix-typo",
        config(tests="file://cases.csv"),
        files={"cases.csv": "topic,__expected\ncats,pyhton: 1\n"},
        bullet=RIGHT_MESSAGES,
    )
    f(
        "csv-huge-field",
        config(tests="file://cases.csv"),
        files={"cases.csv": "topic\n" + "x" * 200_000 + "\n"},
        expect=(0, 2, 100),
    )
    f(
        "csv-nul",
        config(tests="file://cases.csv"),
        files={"cases.csv": b"topic\nca\0ts\n"},
        expect=(0, 2, 100),
    )
    f(
        "csv-latin1",
        config(tests="file://cases.csv"),
        files={"cases.csv": "topic\ncaf\xe9\n".encode("latin-1")},
        expect=(0, 2, 100),
    )
    f(
        "csv-ragged-rows",
        config(tests="file://cases.csv"),
        files={"cases.csv": "topic,x\na\nb,c,d,e\n"},
        expect=(0, 2, 100),
    )
    f(
        "csv-duplicate-header",
        config(tests="file://cases.csv"),
        files={"cases.csv": "topic,topic\na,b\n"},
        expect=(0, 2),
    )
    f(
        "csv-unclosed-quote",
        config(tests="file://cases.csv"),
        files={"cases.csv": 'topic\n"cats\n'},
        expect=(0, 2, 100),
    )
    return f.cases


def cache() -> list[Case]:
    f = Family("cache", RESULTS_NEVER_LOST, expect=0, results=RESULTS)
    args = (*RUN, "--cache-dir", "c")
    for name, content in [
        ("garbage-file", bytes(range(256)) * 16),
        ("text-file", "hello, I am not a database\n"),
        ("truncated-sqlite", b"SQLite format 3\0" + b"\x10\x00\x01\x01" + b"\0" * 80),
        ("nul-file", b"\0" * 8192),
    ]:
        f(name, files={"c/responses.sqlite3": content}, args=args)
        f(
            f"info-{name}",
            files={"c/responses.sqlite3": content},
            args=("cache", "info", "--cache-dir", "c"),
            results=(),
        )
        f(
            f"clear-{name}",
            files={"c/responses.sqlite3": content},
            args=("cache", "clear", "--cache-dir", "c"),
            results=(),
        )
    f("db-is-a-directory", files={"c/responses.sqlite3": Folder()}, args=args, expect=(0, 2))
    f("cache-dir-is-a-file", files={"c": "x"}, args=args, expect=(0, 2))
    f("cache-dir-dev-null", args=(*RUN, "--cache-dir", "/dev/null"), expect=(0, 2))
    f(
        "validate-garbage",
        files={"c/responses.sqlite3": bytes(range(256))},
        args=(*VALIDATE, "--cache-dir", "c"),
        results=(),
    )
    return f.cases


def outputs() -> list[Case]:
    f = Family("outputs", RESULTS_NEVER_LOST, expect=(0, 2, 100), results=RESULTS)
    f("missing-dir-and-good", args=(*RUN, "-o", "/nonexistent/dir/x.json"))
    f("dev-full-and-good", args=(*RUN, "-o", "/dev/full.json"))
    f("directory-as-output", files={"out.json": Folder()}, args=(*RUN, "-o", "out.json"))
    f(
        "results-is-a-directory",
        files={"results.json": Folder()},
        args=(*RUN, "-o", "r2.json"),
        results=("r2.json",),
    )
    f("same-file-twice", args=(*RUN, "-o", "results.json"))
    f("name-too-long", args=(*RUN, "-o", "x" * 300 + ".json"))
    f("html-in-missing-dir", args=(*RUN, "-o", "/nonexistent/r.html"))
    f(
        "csv-in-missing-dir",
        args=(*RUN, "-o", "/nonexistent/r.csv", "-o", "r.md"),
        results=("results.json", "r.md"),
    )
    f("output-dir-is-a-file", files={"od": "x"}, args=(*RUN, "--output-dir", "od"))
    f("overwrite-config", args=(*RUN, "-o", "config.yaml"), expect=(2,))
    f("step-summary-is-directory", files={"sum": Folder()}, env={"GITHUB_STEP_SUMMARY": "sum"})
    return f.cases


ALL = [bombs, side_files, cache, outputs]
