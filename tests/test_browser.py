"""Layout facts in a real browser: headless Chromium at a 375 px phone viewport loads the
email editions from the preview server. Screenshots land in each test's tmp_path.

Needs Debian's chromium (``apt-get install chromium``) and websocket-client. Without them
the tests skip locally and fail under CI=true, where they must run.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.serving import serving
from test_preview import write_edition

from digest.fsutil import write_atomic
from digest.output.preview import PreviewServer, make_server

try:
    from support.browser import Chromium, find_chromium
except ImportError as exc:  # websocket-client is a test extra
    MISSING_CLIENT: str | None = f"websocket-client is not installed ({exc})"
else:
    MISSING_CLIENT = None

pytestmark = pytest.mark.browser

PHONE_WIDTH = 375
PHONE_HEIGHT = 812

# Runs in the page: direction, alignment and overflow facts, measured rather than assumed.
# A text block's gaps are the space between its padding box and the text's own bounding box:
# right-aligned text has no gap on the right.
PROBE = """
((limit) => {
  const root = document.documentElement;
  const main = document.querySelector('[role="article"]') || document.body;
  const blocks = [...document.querySelectorAll("h1, h2, h3, p, li")]
    .filter((el) => el.textContent.trim() && el.getClientRects().length)
    .map((el) => {
      const style = getComputedStyle(el);
      const range = document.createRange();
      range.selectNodeContents(el);
      const text = range.getBoundingClientRect();
      const box = el.getBoundingClientRect();
      return {
        text: el.tagName.toLowerCase() + ": " + el.textContent.trim().slice(0, 30),
        direction: style.direction,
        align: style.textAlign,
        fontSize: parseFloat(style.fontSize),
        leftGap: Math.round(text.left - box.left - parseFloat(style.paddingLeft)),
        rightGap: Math.round(box.right - parseFloat(style.paddingRight) - text.right),
      };
    });
  const overflowing = [...document.body.querySelectorAll("*")]
    .filter((el) => {
      const box = el.getBoundingClientRect();
      return el.getClientRects().length && (box.right > limit + 0.5 || box.left < -0.5);
    })
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
  return {
    lang: root.getAttribute("lang"),
    dir: root.getAttribute("dir"),
    mainDirection: getComputedStyle(main).direction,
    scrollWidth: root.scrollWidth,
    innerWidth: innerWidth,
    overflowing: overflowing,
    blocks: blocks,
  };
})
"""


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    if MISSING_CLIENT:
        unavailable(MISSING_CLIENT)
    executable = find_chromium()
    if executable is None:
        unavailable("chromium not found (apt-get install chromium, or set CHROMIUM=path)")
    with Chromium(tmp_path_factory.mktemp("chromium-profile"), executable) as browser:
        yield browser


def serve(folder: Path) -> Iterator[PreviewServer]:
    with serving(make_server(folder, "127.0.0.1", 0)) as server:
        yield server


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreviewServer]:
    yield from serve(write_edition(tmp_path_factory.mktemp("edition")))


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[PreviewServer]:
    """For a test that rewrites files."""
    yield from serve(write_edition(tmp_path / "edition"))


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.parametrize(("code", "direction"), [("en", "ltr"), ("ar", "rtl")])
def test_email_edition_fits_a_phone_and_follows_its_script(
    chromium: Chromium, shared_server: PreviewServer, tmp_path: Path, code: str, direction: str
):
    page = chromium.new_page(PHONE_WIDTH, PHONE_HEIGHT)
    page.goto(f"{shared_server.url}email/{code}")
    facts = page.evaluate(f"({PROBE})({PHONE_WIDTH})")
    shot = page.screenshot(tmp_path / f"digest.{code}.{PHONE_WIDTH}px.png")
    print(f"screenshot: {shot}")
    errors = page.console_errors()
    page.close()

    assert (facts["lang"], facts["dir"], facts["mainDirection"]) == (code, direction, direction)
    # nothing is wider than the phone: no sideways scrolling
    assert facts["scrollWidth"] <= PHONE_WIDTH, facts["overflowing"]
    assert facts["overflowing"] == []
    # a mobile browser zooms out to fit wider content, which would widen the viewport
    assert facts["innerWidth"] == PHONE_WIDTH, facts["overflowing"]
    blocks = facts["blocks"]
    assert len(blocks) > 20  # title, brief, three stories with key points, footer
    start, end = ("left", "right") if direction == "ltr" else ("right", "left")
    for block in blocks:
        assert block["direction"] == direction, block
        assert block["align"] in {start, "start"}, block
        assert block[f"{start}Gap"] <= 1, block  # text hugs the start edge
        assert block["fontSize"] >= 12, block
    # short lines (headings, labels) leave visible room at the end edge
    assert sum(block[f"{end}Gap"] > 50 for block in blocks) >= 5
    assert errors == []
    width, height = png_size(shot)
    assert width == PHONE_WIDTH and height > PHONE_HEIGHT  # the whole page, not one screen


def test_preview_pages_run_clean(chromium: Chromium, shared_server: PreviewServer, tmp_path: Path):
    page = chromium.new_page(1280, 900, mobile=False)
    page.goto(shared_server.url)
    links = page.evaluate("[...document.querySelectorAll('a')].map((a) => a.pathname)")
    assert {"/email/ar", "/text/ar", "/md/ar", "/compare"} <= set(links)
    page.goto(f"{shared_server.url}compare?a=en&b=ar&w={PHONE_WIDTH}")
    frames = page.evaluate(
        "[...document.querySelectorAll('iframe')]"
        ".map((f) => [f.getAttribute('src'), f.clientWidth])"
    )
    print(f"screenshot: {page.screenshot(tmp_path / 'compare.png')}")
    errors = page.console_errors()
    page.close()
    assert frames == [["/email/en", PHONE_WIDTH], ["/email/ar", PHONE_WIDTH]]
    # the nonce'd reload script runs and nothing trips the Content-Security-Policy
    assert errors == []


def test_index_reloads_when_the_edition_is_rewritten(chromium: Chromium, own_server):
    page = chromium.new_page(1280, 900, mobile=False)
    page.goto(own_server.url)
    page.evaluate("window.beforeRerun = true")
    mark = len(page.cdp.events)
    target = own_server.folder / "digest.en.html"
    mtime = target.stat().st_mtime_ns + 10**9
    write_atomic(target, "<!doctype html><p>second run</p>")
    os.utime(target, ns=(mtime, mtime))
    page.wait_for_reload(after=mark)
    assert page.evaluate("window.beforeRerun === undefined")
    page.close()
