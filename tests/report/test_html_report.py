"""The HTML report, opened in a real browser: headless Chromium driven through chromedriver.

It checks what a person relies on: the images load, the failure filter hides passing tests, a
thumbnail opens full size, the page fetches nothing from the network, and a model output holding
`<script>` shows as text instead of running. One test saves a screenshot for a person to look at
(build/screenshots/report.png).

Chromium and chromedriver come from Debian (`apt-get install chromium chromium-driver`; .ci/run
does it). Without them these tests skip, unless REVAL_REQUIRE_BROWSER=1 (set in CI) makes that
a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from replicate_eval.report.html import render_html
from replicate_eval.results import RunResult
from tests.conftest import RunCli
from tests.fake_replicate import FakeReplicate, Reply, image_model, sdxl_schema, tokens

SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
HOSTILE = (
    'Sure! <script>window.__pwned = "script"</script>'
    "<img src=x onerror=\"window.__pwned = 'onerror'\"> & more"
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        message = "needs Debian's chromium and chromium-driver (apt-get install ...)"
        if os.environ.get("REVAL_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",  # this machine has no network to reach
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def report_run(
    fake_replicate: FakeReplicate,
    run_cli: RunCli,
    write_config: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., RunResult]:
    """Run an eval with an image model and a text model whose output is hostile HTML."""
    monkeypatch.chdir(tmp_path)
    fake_replicate.add_model(
        "stability-ai/sdxl", image_model(), official=True, openapi_schema=sdxl_schema()
    )
    fake_replicate.add_model("meta/llama", lambda i: Reply(tokens(HOSTILE)), official=True)
    config = write_config(
        {
            "description": "report <b>check</b>",
            "prompts": ["Draw <<subject>>"],
            "providers": [
                {"id": "replicate:image:stability-ai/sdxl", "width": 320, "height": 200},
                "replicate:meta/llama",
            ],
            "tests": [
                {"description": "passes everywhere", "vars": {"subject": "a pear"}},
                {
                    "description": "fails for text",
                    "vars": {"subject": "a plum"},
                    "assert": [{"type": "not-icontains", "value": "sure"}],
                },
            ],
        }
    )

    def run(*args: str | Path) -> RunResult:
        out = tmp_path / "results.json"
        result = run_cli("run", config, "-o", out, *args)
        assert result.exit_code == 100, result.stdout + result.stderr
        return RunResult.model_validate(json.loads(out.read_text()))

    return run


def visible_rows(browser: webdriver.Chrome) -> list[str]:
    return [
        row.find_element(By.CSS_SELECTOR, ".test-title").text
        for row in browser.find_elements(By.CSS_SELECTOR, "table.grid tbody tr")
        if row.is_displayed()
    ]


def loaded_images(browser: webdriver.Chrome) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = browser.execute_script(
        "return Array.from(document.querySelectorAll('.images img')).map(function (image) {"
        "  return {complete: image.complete, width: image.naturalWidth,"
        "          height: image.naturalHeight, src: image.getAttribute('src')}; });"
    )
    return result


@pytest.mark.parametrize("mode", ["embed", "link"])
def test_report_in_a_browser(
    browser: webdriver.Chrome,
    report_run: Callable[..., RunResult],
    tmp_path: Path,
    mode: str,
) -> None:
    report = tmp_path / "site" / "report.html"
    report.parent.mkdir()
    report_run("-o", report, "--html-images", mode, "--output-dir", tmp_path / "images")
    browser.get(report.as_uri())

    # Every image loaded, at its real size, embedded or linked relative to the report.
    images = loaded_images(browser)
    assert len(images) == 2
    for image in images:
        assert image["complete"] and (image["width"], image["height"]) == (320, 200)
        if mode == "embed":
            assert image["src"].startswith("data:image/png;base64,")
        else:
            assert re.fullmatch(r"\.\./images/[0-9a-f]{20}\.png", image["src"])

    # The model's HTML is text on the page, and none of it ran.
    assert browser.execute_script("return window.__pwned === undefined")
    outputs = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "pre.output")]
    assert any("<script>window.__pwned" in text and "onerror=" in text for text in outputs)
    assert browser.find_element(By.TAG_NAME, "h1").text == "report <b>check</b>"

    # Nothing points at a network: every image and link is embedded, relative or in-page.
    addresses = browser.execute_script(
        "return Array.from(document.querySelectorAll('[src], [href]')).map(function (e) {"
        "  return e.getAttribute('src') || e.getAttribute('href'); });"
    )
    assert addresses and all(not re.match(r"^[a-z]+://", a) for a in addresses), addresses

    # The failure filter hides the tests where every cell passed.
    assert visible_rows(browser) == ["passes everywhere", "fails for text"]
    browser.find_element(By.ID, "only-failures").click()
    assert visible_rows(browser) == ["fails for text"]
    browser.find_element(By.ID, "only-failures").click()
    assert visible_rows(browser) == ["passes everywhere", "fails for text"]

    # A thumbnail opens the image full size; a click closes it.
    lightbox = browser.find_element(By.ID, "lightbox")
    assert not lightbox.is_displayed()
    browser.find_element(By.CSS_SELECTOR, "a.thumb").click()
    assert lightbox.is_displayed()
    assert browser.execute_script(
        "var image = document.getElementById('lightbox-image');"
        "return image.complete && image.naturalWidth === 320"
    )
    lightbox.click()
    assert not lightbox.is_displayed()


def test_screenshot_for_people(
    browser: webdriver.Chrome, report_run: Callable[..., RunResult], tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    report_run("-o", report)
    browser.get(report.as_uri())
    assert all(image["width"] > 0 for image in loaded_images(browser))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_the_report_beside_the_images_links_them(
    browser: webdriver.Chrome, report_run: Callable[..., RunResult]
) -> None:
    result = report_run()  # no -o report.html: reval writes one beside the images
    assert result.output_dir is not None
    browser.get((Path(result.output_dir) / "report.html").resolve().as_uri())
    images = loaded_images(browser)
    assert len(images) == 2 and all(image["width"] == 320 for image in images)
    assert all(re.fullmatch(r"[0-9a-f]{20}\.png", image["src"]) for image in images)


def test_the_content_security_policy_stops_markup_that_escaped_escaping(
    browser: webdriver.Chrome, report_run: Callable[..., RunResult], tmp_path: Path
) -> None:
    """Defence in depth: were an output ever inserted unescaped, its script would not run."""
    result = report_run()
    page = render_html(result, report_path=tmp_path / "r.html")
    injected = (
        "<script>window.__injected = 'script'</script>"
        "<img src=x onerror=\"window.__injected = 'onerror'\">"
        '<img src="http://127.0.0.1:9/tracker.png">'
    )
    report = tmp_path / "tampered.html"
    report.write_text(page.replace("<main>", "<main>" + injected, 1), encoding="utf-8")
    browser.get(report.as_uri())
    assert browser.execute_script("return window.__injected === undefined")
    # The page's own script, allowed by its hash, still runs.
    browser.find_element(By.ID, "only-failures").click()
    assert visible_rows(browser) == ["fails for text"]


def test_every_output_is_escaped(report_run: Callable[..., RunResult], tmp_path: Path) -> None:
    """Without a browser too: no model text reaches the page as markup."""
    result = report_run()
    page = render_html(result, report_path=tmp_path / "r.html")
    assert "<script>window" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__pwned" in page
    assert page.count("<script>") == 1  # the report's own, allowed by its CSP hash
