"""Hostile configs that must be refused with exit 2 and a message: broken YAML, typos, wrong
types, bad environment values, and selections that leave nothing to run."""

from __future__ import annotations

from tests.hostile.case import (
    CONFIG_MISTAKES,
    GOOD,
    NOTHING_IS_NOT_A_PASS,
    OTHER_TOKEN,
    PROVIDER,
    RESULTS_NEVER_LOST,
    ROBUSTNESS,
    RUN,
    TOKEN_NEVER_LEAVES,
    VALIDATE,
    Case,
    Family,
    Folder,
    Link,
    config,
)

RESULTS = ("results.json",)


def broken_yaml() -> list[Case]:
    f = Family("yaml", CONFIG_MISTAKES, expect=2, results=RESULTS)
    f("tab-indent", "prompts: [hi]\nproviders:\n\t- " + PROVIDER + "\n")
    f("tab-in-flow", "prompts:\t[hi]\nproviders: [" + PROVIDER + "]\n", expect=(0, 2))
    f("unclosed-single-quote", "prompts: ['hi]\nproviders: [" + PROVIDER + "]\n")
    f("unclosed-double-quote", 'prompts: ["hi]\nproviders: [' + PROVIDER + "]\n")
    f("unclosed-bracket", "prompts: [hi\nproviders: [" + PROVIDER + "]\n")
    f("unclosed-brace", "prompts: [hi]\nproviders: [{id: " + PROVIDER + "]\n")
    f("bad-indent", "prompts:\n  - hi\n - ho\nproviders: [" + PROVIDER + "]\n")
    f("colon-in-plain", "prompts: [hi]\nproviders: [" + PROVIDER + "]\ndescription: a: b\n")
    f("duplicate-top-key", GOOD + "prompts: ['other <<topic>>']\n", expect=(0, 2))
    f("duplicate-test-key", config(tests="\n  - vars: {topic: a, topic: b}"), expect=(0, 2))
    f("empty-file", "")
    f("only-comments", "# nothing here\n# at all\n")
    f("document-marker-only", "---\n")
    f("two-documents", GOOD + "---\n" + GOOD)
    f("top-level-list", "- prompts: [hi]\n")
    f("top-level-scalar", "hello world\n")
    f("top-level-null", "~\n")
    f("binary-garbage", bytes(range(256)) * 8)
    f("nul-byte-in-middle", GOOD.replace("cats", "ca\0ts", 1).encode())
    f("nul-bytes-only", b"\0" * 4096)
    f("utf8-bom", ("\ufeff" + GOOD).encode("utf-8"), expect=0)
    f("utf16-file", GOOD.encode("utf-16"))
    f("latin1-bytes", GOOD.replace("cats", "caf\xe9").encode("latin-1"), expect=(0, 2, 100))
    f(
        "lone-surrogate-escape",
        config(tests='\n  - vars: {topic: "\\ud800"}'),
        expect=(0, 2, 100),
        process=True,  # a failed write stays in Rich's buffer: later cases in-process would fail
    )
    f("crlf-line-endings", GOOD.replace("\n", "\r\n").encode(), expect=0)
    f("cr-only-line-endings", GOOD.replace("\n", "\r").encode(), expect=(0, 2))
    huge = "x" * 2_000_000
    f("huge-line-prompt", config(prompts=f"['{huge} <<topic>>']"), expect=(0, 100), process=True)
    f("huge-line-comment", "#" + "y" * 5_000_000 + "\n" + GOOD, expect=0, process=True)
    f("python-tag", "prompts: !!python/object/apply:os.system ['echo pwned']\n")
    f("unknown-tag", "prompts: !include other.yaml\nproviders: [" + PROVIDER + "]\n")
    f("undefined-alias", "prompts: *nope\nproviders: [" + PROVIDER + "]\n")
    f("config-is-directory", None, files={"config.yaml": Folder()})
    f("config-missing", None)
    f("config-dev-null", None, args=("run", "/dev/null", "-o", "results.json"))
    f("config-dev-zero", None, files={"config.yaml": Link("/dev/zero")}, process=True)
    f("validate-binary", bytes(range(256)), args=VALIDATE)
    return f.cases


def key_typos() -> list[Case]:
    f = Family("typo", CONFIG_MISTAKES, expect=2, results=RESULTS)
    f("top-provders", GOOD.replace("providers:", "provders:"), must_say="providers")
    f("top-prompt", GOOD.replace("prompts:", "prompt:"), must_say="prompts")
    f("top-test", GOOD.replace("tests:", "test:"), must_say="tests")
    f("top-defaulttest", GOOD + "defaulttest: {vars: {x: 1}}\n", must_say="defaultTest")
    f("top-descripton", GOOD + "descripton: hi\n", must_say="description")
    f("top-template-sytax", GOOD + "template_sytax: curly\n", must_say="template_syntax")
    f("provider-lable", config(providers=f"[{{id: {PROVIDER}, lable: x}}]"), expect=(0, 2))
    f(
        "provider-confg-nested",
        config(providers=f"[{{id: {PROVIDER}, confg: {{temperature: 1}}}}]"),
        expect=(0, 2),
    )
    f("provider-idd", config(providers=f"[{{idd: {PROVIDER}}}]"))
    f("test-var", config(tests="\n  - var: {topic: cats}"), must_say="vars")
    f(
        "test-asert",
        config(tests="\n  - vars: {topic: cats}\n    asert: [{type: contains, value: x}]"),
        must_say="assert",
    )
    f(
        "test-assertions",
        config(tests="\n  - vars: {topic: c}\n    assertions: [{type: equals, value: x}]"),
    )
    f(
        "test-treshold",
        config(tests="\n  - vars: {topic: cats}\n    treshold: 0.5"),
        must_say="threshold",
    )
    f("test-descriptoin", config(tests="\n  - descriptoin: x\n    vars: {topic: cats}"))
    f("assert-typ", config(tests="\n  - vars: {topic: c}\n    assert: [{typ: contains, value: c}]"))
    f(
        "assert-vale",
        config(tests="\n  - vars: {topic: c}\n    assert: [{type: contains, vale: c}]"),
    )
    f(
        "assert-wieght",
        config(tests="\n  - vars: {topic: c}\n    assert: [{type: contains, value: c, wieght: 2}]"),
    )
    for kind in ("contain", "icontain", "regx", "not-contain", "is_json", "llm_rubric", "Contains"):
        f(
            f"assert-kind-{kind}",
            config(tests=f"\n  - vars: {{topic: c}}\n    assert: [{{type: {kind}, value: c}}]"),
        )
    f("defaulttest-asserts", GOOD + "defaultTest: {asserts: [{type: contains, value: c}]}\n")
    f("options-provder", config(tests="\n  - vars: {topic: c}\n    options: {provder: x}"))
    f(
        "options-rubricprompt",
        config(tests="\n  - vars: {topic: c}\n    options: {rubricprompt: x}"),
    )
    f("template-syntax-value", GOOD + "template_syntax: curlyy\n")
    f("provider-prefix-replicat", config(providers="[replicat:acme/echo]"))
    f("provider-no-name", config(providers="['replicate:acme']"))
    f("provider-empty-id", config(providers="['replicate:']"))
    f("provider-image-no-slug", config(providers="['replicate:image:']"))
    f("provider-bad-version", config(providers="['replicate:acme/echo:xyz']"))
    f("provider-cog-missing-folder", config(providers="['cog:no/such/folder']"))
    f("provider-spaces", config(providers="['replicate: acme / echo']"))
    f(
        "many-typos-at-once",
        "prompt: [hi]\nprovders: [x]\ntests:\n  - var: {}\n    asert: []\n",
        must_say="(?s)(prompts.*providers|providers.*prompts)",
    )
    f(
        "typo-in-tests-file",
        config(tests="file://cases.yaml"),
        files={"cases.yaml": "- var: {topic: a}\n- vars: {topic: b}\n  asert: []\n"},
    )
    return f.cases


def wrong_types() -> list[Case]:
    f = Family("types", CONFIG_MISTAKES, expect=2, results=RESULTS)
    t = "\n  - vars: {topic: c}\n    assert: [%s]"
    f("prompts-int", config(prompts="5"))
    # promptfoo's legacy `{file: label}` form: the prompt `a`, labelled `b`.
    f("prompts-mapping", config(prompts="{a: b}"), expect=(0, 100))
    f("prompts-nested-list", config(prompts="[[a, b]]"))
    f("prompt-raw-int", config(prompts="[{raw: 5}]"))
    f("prompt-label-mapping", config(prompts="[{raw: hi, label: {a: 1}}]"))
    f("providers-int", config(providers="5"))
    f("providers-list-int", config(providers="[5]"))
    f("provider-id-int", config(providers="[{id: 123}]"))
    f("provider-id-null", config(providers="[{id: null}]"))
    f("provider-config-list", config(providers=f"[{{id: {PROVIDER}, config: [1]}}]"))
    f("tests-string", config(tests="cases"))
    f("tests-int", config(tests="5"))
    f("tests-list-int", config(tests="[5]"))
    f("tests-list-list", config(tests="[[1]]"))
    f("vars-list", config(tests="\n  - vars: [1, 2]"))
    f("vars-string", config(tests="\n  - vars: topic"))
    f("description-list", config(tests="\n  - description: [a]\n    vars: {topic: c}"))
    f(
        "assert-mapping",
        config(tests="\n  - vars: {topic: c}\n    assert: {type: contains, value: c}"),
    )
    f("assert-string", config(tests="\n  - vars: {topic: c}\n    assert: contains"))
    f("weight-string", config(tests=t % "{type: contains, value: c, weight: heavy}"))
    f("weight-negative", config(tests=t % "{type: contains, value: c, weight: -1}"))
    f("threshold-string", config(tests="\n  - vars: {topic: c}\n    threshold: high"))
    f("threshold-above-one", config(tests="\n  - vars: {topic: c}\n    threshold: 2"))
    f("temperature-hot", config(providers=f"[{{id: {PROVIDER}, temperature: hot}}]"))
    f(
        "max-length-string",
        config(providers=f"[{{id: {PROVIDER}, max_length: '1e3'}}]"),
        expect=(0, 2),
    )
    f("template-syntax-int", GOOD + "template_syntax: 1\n")
    f("latency-threshold-string", config(tests=t % "{type: latency, threshold: fast}"))
    f("image-dimensions-string", config(tests=t % "{type: image-dimensions, value: big}"))
    f("image-count-string", config(tests=t % "{type: image-count, value: many}"))
    f("contains-any-int", config(tests=t % "{type: contains-any, value: 5}"), expect=(2, 100))
    f("python-int", config(tests=t % "{type: python, value: 5}"))
    f("python-empty", config(tests=t % "{type: python, value: ''}"))
    f("python-syntax-error", config(tests=t % "{type: python, value: 'output ==== 1'}"))
    f("regex-invalid", config(tests=t % "{type: regex, value: '['}"))
    f("regex-unterminated-group", config(tests=t % "{type: regex, value: '(?P<x'}"))
    f("icontains-null", config(tests=t % "{type: icontains, value: null}"))
    f("moderation-bad-category", config(tests=t % "{type: moderation, value: [S99]}"))
    f(
        "description-huge-int",
        config(tests="\n  - description: 12345\n    vars: {topic: c}"),
        expect=(0, 2),
    )
    f(
        "validate-many-type-errors",
        config(
            providers=f"[{{id: {PROVIDER}, temperature: hot}}]",
            tests=t % "{type: contains, weight: x}",
        ),
        args=VALIDATE,
        must_say="(?s)(temperature.*weight|weight.*temperature)",
    )
    return f.cases


def environment() -> list[Case]:
    f = Family("env", CONFIG_MISTAKES, expect=2, results=RESULTS)
    for name, value in [
        ("REPLICATE_TEMPERATURE", "hot"),
        ("REPLICATE_TEMPERATURE", "nan"),
        ("REPLICATE_TEMPERATURE", "inf"),
        ("REPLICATE_MAX_LENGTH", "1e999"),
        ("REPLICATE_MAX_LENGTH", "3.5"),
        ("REPLICATE_MAX_NEW_TOKENS", "-5"),
        ("REPLICATE_TOP_K", "ten"),
        ("REPLICATE_TOP_P", "1,5"),
        ("REPLICATE_SEED", "9" * 5000),
        ("REPLICATE_REPETITION_PENALTY", ""),
    ]:
        f(
            f"{name.lower()}={value[:12]}",
            env={name: value},
            # A value that does not parse must be named; one out of range is the preflight's.
            must_say=name if value and not value.startswith("-") else None,
            expect=(0, 2) if not value else 2,
        )
    g = Family("token", TOKEN_NEVER_LEAVES, expect=2, results=RESULTS)
    for label, value in [
        ("space-inside", "r8_abc def_0123456789"),
        ("trailing-newline", OTHER_TOKEN + "\n"),
        ("newline-inside", "r8_abc\nInjected: yes"),
        ("non-ascii", "r8_tökén_0123456789"),
        ("emoji", "r8_\U0001f511_secret"),
        ("only-spaces", "   "),
        ("empty", ""),
        ("nul-free-control", "r8_abc\x07def"),
    ]:
        g(
            f"env-{label}",
            env={"REPLICATE_API_TOKEN": value},
            must_say="REPLICATE_API_TOKEN",
            secrets=(value.strip(),) if len(value.strip()) > 6 else (),
            process=label == "newline-inside",  # today: retried until it gives up
        )
    g(
        "api-key-newline",
        env={"REPLICATE_API_TOKEN": None, "REPLICATE_API_KEY": OTHER_TOKEN + "\r\n"},
        must_say="REPLICATE_API_KEY",
        secrets=(OTHER_TOKEN,),
    )
    g(
        "apikey-in-config-newline",
        config(providers=f'[{{id: {PROVIDER}, apiKey: "{OTHER_TOKEN}\\n"}}]'),
        secrets=(OTHER_TOKEN,),
    )
    g(
        "apikey-in-config-non-ascii",
        config(providers=f"[{{id: {PROVIDER}, apiKey: r8_clé_{OTHER_TOKEN}}}]"),
        secrets=(OTHER_TOKEN,),
    )
    g("no-token-at-all", env={"REPLICATE_API_TOKEN": None})
    g(
        "dotenv-line-without-equals",
        files={".env": f"REPLICATE_API_TOKEN {OTHER_TOKEN}\n"},
        env={"REPLICATE_API_TOKEN": None},
        secrets=(OTHER_TOKEN,),
    )
    g(
        "dotenv-unterminated-quote",
        files={".env": f'REPLICATE_API_TOKEN="{OTHER_TOKEN}\n'},
        env={"REPLICATE_API_TOKEN": None},
        secrets=(OTHER_TOKEN,),
    )
    g(
        "dotenv-export-garbage",
        files={".env": f"export export REPLICATE_API_TOKEN=={OTHER_TOKEN}\n"},
        expect=(0, 2),
        secrets=(OTHER_TOKEN,),
    )
    g("dotenv-binary", files={".env": bytes(range(256))}, expect=(0, 2))
    g("dotenv-directory", files={".env": Folder()}, expect=(0, 2))
    g("env-file-missing", args=(*RUN, "--env-file", "nope.env"))
    g("env-file-dev-zero", args=(*RUN, "--env-file", "/dev/zero"), process=True)
    g(
        "env-file-nul",
        files={"x.env": b"A=1\0B=2\n"},
        args=(*RUN, "--env-file", "x.env"),
        expect=(0, 2),
    )
    # In a process: today each of these waits out retries; side by side they take less time.
    h = Family("base-url", NOTHING_IS_NOT_A_PASS, expect=2, results=RESULTS, process=True)
    for label, url in [
        ("not-a-url", "not a url"),
        ("unreachable", "http://127.0.0.1:9"),
        ("bad-port", "http://127.0.0.1:99999"),
    ]:
        h(label, env={"REPLICATE_BASE_URL": url}, must_say="REPLICATE_BASE_URL")
        if label != "unreachable":  # validate, on the unreachable one, waits out retries
            h(f"validate-{label}", args=VALIDATE, env={"REPLICATE_BASE_URL": url})
    h(
        "validate-no-preflight-offline",
        args=(*VALIDATE, "--no-preflight"),
        env={"REPLICATE_BASE_URL": "http://127.0.0.1:9", "REPLICATE_API_TOKEN": None},
        expect=0,
        results=(),  # validate writes no results file
    )
    k = Family("terminal", ROBUSTNESS, expect=0, results=RESULTS)
    for name, value in [
        ("COLUMNS", "0"),
        ("COLUMNS", "abc"),
        ("FORCE_COLOR", "1"),
    ]:
        k(f"{name.lower()}={value}", env={name: value}, process=True)
    k(
        "ascii-locale-unicode-output",
        config(tests="\n  - vars: {topic: 'café ☕ 猫'}"),
        env={"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "ascii"},
        process=True,
        expect=(0, 100),
    )
    k(
        "xdg-cache-is-a-file",
        files={"cachefile": "x"},
        env={"XDG_CACHE_HOME": "cachefile"},
        bullet=RESULTS_NEVER_LOST,
    )
    k("home-unset", env={"HOME": None, "XDG_CACHE_HOME": None}, process=True)
    k("step-summary-bad-dir", env={"GITHUB_STEP_SUMMARY": "/nonexistent/dir/summary.md"})
    k("step-summary-dev-full", env={"GITHUB_STEP_SUMMARY": "/dev/full"})
    return f.cases + g.cases + h.cases + k.cases


def nothing_to_run() -> list[Case]:
    f = Family("empty", NOTHING_IS_NOT_A_PASS, expect=2, results=RESULTS)
    f("prompts-empty-list", config(prompts="[]"), must_say="prompts")
    f("providers-empty-list", config(providers="[]"), must_say="providers")
    f("prompts-null", config(prompts="null"))
    f("providers-null", config(providers="null"))
    f("prompts-empty-string", config(prompts="''"), expect=(2, 100))
    f("prompts-list-of-empty", config(prompts="['']"), expect=(2, 100))
    f("no-tests-means-one", config(tests="[]"), expect=(0, 100))
    f("filter-pattern-no-match", args=(*RUN, "--filter-pattern", "zzz"))
    f("filter-pattern-invalid", args=(*RUN, "--filter-pattern", "["))
    f("filter-first-n-zero", args=(*RUN, "--filter-first-n", "0"))
    f("filter-first-n-negative", args=(*RUN, "--filter-first-n", "-1"))
    f(
        "shard-empty-is-ok",
        config(tests="\n  - vars: {topic: cats}"),
        args=(*RUN, "--shard", "2/9"),
        expect=(0,),
    )
    for shard in ("3/2", "0/2", "abc", "1/0", "-1/2", "1/2/3"):
        f(f"shard-{shard.replace('/', '-of-')}", args=(*RUN, "--shard", shard))
    f("tests-csv-header-only", config(tests="file://cases.csv"), files={"cases.csv": "topic\n"})
    f("tests-csv-empty", config(tests="file://cases.csv"), files={"cases.csv": ""})
    f("tests-jsonl-empty", config(tests="file://cases.jsonl"), files={"cases.jsonl": "\n\n"})
    f("tests-json-empty-list", config(tests="file://cases.json"), files={"cases.json": "[]"})
    f("prompts-file-empty", config(prompts="file://p.txt"), files={"p.txt": ""})
    f("prompts-glob-no-match", config(prompts="file://prompts/*.txt"))
    for option, value in [
        ("--repeat", "0"),
        ("--repeat", "-1"),
        ("-j", "0"),
        ("--fail-under", "101"),
        ("--fail-under", "nan"),
        ("--fail-under", "-5"),
        ("--timeout", "-1"),
        ("--timeout", "nan"),
        ("--timeout", "0"),
        ("--max-cell-length", "-1"),
        ("--retries", "-1"),
        ("--max-retry-wait", "nan"),
        ("--var", "noequals"),
        ("--var", "=x"),
        ("--grader", "garbage"),
        ("-o", "results.xyz"),
        ("--html-images", "sometimes"),
    ]:
        f(f"option{option}={value}", args=(*RUN, option, value))
    f("validate-providers-empty", config(providers="[]"), args=VALIDATE)
    f("validate-prompts-empty", config(prompts="[]"), args=VALIDATE)
    return f.cases
