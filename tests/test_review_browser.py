"""The editor's whole flow in headless Chromium: approve one item, edit one, publish a
withheld one with a reason, reload and see it kept, send to a real aiosmtpd on 127.0.0.1 and
find the edited text in the mail, then correct a sent item from the same page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.browser import Page
from support.cli import invoke
from support.serving import serving
from test_browser import chromium  # noqa: F401  (the module's browser fixture)
from test_review import EDITOR, GOOD_EDIT, ids, write_review_edition
from test_send import smtp_args, start_server  # noqa: F401  (the SMTP fixture)

from digest.output.preview import make_server
from digest.output.review_pages import ReviewSession
from digest.review import load_record

pytestmark = pytest.mark.browser

REASON = "the name check failed on a correct transliteration"
CORRECTED = "The council voted 23 to 4 to build the 140-metre bridge for cyclists."


def submit(page: Page, script: str) -> None:
    """Run ``script`` (it submits a form) and wait for the page the POST redirects to."""
    mark = len(page.cdp.events)
    page.evaluate(script)
    page.wait_for_reload(after=mark)


def fill(form: str, values: dict[str, str], button: str = "button[type=submit]") -> str:
    """JS: open the form's <details>, set its fields, click its button."""
    return f"""(() => {{
      const form = document.querySelector({json.dumps(form)});
      const details = form.closest("details");
      if (details) details.open = true;
      for (const [name, value] of Object.entries({json.dumps(values)})) {{
        form.elements.namedItem(name).value = value;
      }}
      form.querySelector({json.dumps(button)}).click();
    }})()"""


def states(page: Page) -> dict[str, str]:
    return page.evaluate(  # type: ignore[no-any-return]
        "Object.fromEntries([...document.querySelectorAll('section.item')]"
        ".map((s) => [s.id, s.querySelector('.state').textContent.trim()]))"
    )


def test_review_approve_edit_publish_reload_send_and_correct(
    chromium: Any,  # noqa: F811
    start_server: Any,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    edition = write_review_edition(tmp_path / "edition")
    approved, withheld, edited = ids(edition)
    session = ReviewSession(editor=EDITOR, required=True)
    smtp = start_server()
    config = tmp_path / "review.toml"
    config.write_text('review = "required"\n', encoding="utf-8")

    def send(lang: str) -> list[str]:
        return [
            "send", str(edition), "--to", "reader@example.org", "--lang", lang,
            *smtp_args(smtp), "--config", str(config),
        ]  # fmt: skip

    with serving(make_server(edition, "127.0.0.1", 0, session)) as server:
        page = chromium.new_page(1280, 900, mobile=False)
        page.goto(f"{server.url}review")
        assert "6 items undecided" in page.evaluate("document.body.innerText")

        submit(page, f"document.querySelector('#item-{approved}-en button[value=approve]').click()")
        submit(page, fill(f"#item-{edited}-en form.edit", GOOD_EDIT))
        submit(
            page,
            fill(f"#item-{withheld}-en form.decide", {"reason": REASON}, "button[value=publish]"),
        )

        page.goto(f"{server.url}review")  # a fresh load: what is shown comes from disk
        seen = states(page)
        assert seen[f"item-{approved}-en"].startswith(f"Approved by {EDITOR}")
        assert seen[f"item-{edited}-en"].startswith(f"Edited by {EDITOR}")
        assert seen[f"item-{withheld}-en"].startswith(f"Published by {EDITOR}")
        assert seen[f"item-{withheld}-en"].endswith(REASON)
        assert all(state == "Undecided" for key, state in seen.items() if key.endswith("-tr"))
        headline = page.evaluate(
            f"document.querySelector('#item-{edited}-en .headline').textContent"
        )
        assert headline == GOOD_EDIT["headline"]
        print(f"screenshot: {page.screenshot(tmp_path / 'review.png')}")

        refused = invoke(capsys, *send("tr"))  # tr is undecided
        assert refused.code == 2 and "undecided" in refused.err
        sent = invoke(capsys, *send("en"))
        assert sent.code == 0, sent.err

        # once sent, an English item takes a correction instead of decisions
        page.goto(f"{server.url}review")
        assert page.evaluate(f"!document.querySelector('#item-{edited}-en form.decide')")
        values = {"summary": CORRECTED, "note": "The bridge is for cyclists and walkers."}
        submit(page, fill(f"#item-{edited}-en form.correct", values))
        assert states(page)[f"item-{edited}-en"].startswith(f"Corrected by {EDITOR}")
        errors = page.console_errors()
        page.close()

    assert errors == []  # nothing tripped the Content-Security-Policy
    (message,) = smtp.messages()
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for part in (text, html):
        assert GOOD_EDIT["headline"] in part
        assert "Edited by the newsroom." in part
    assert "Construction should start next spring." in text
    record = load_record(edition)
    assert [d.action for d in record.decisions] == ["approve", "edit", "publish"]
    assert record.corrections[0].recipients == ["reader@example.org"]
    md = (edition / "digest.en.md").read_text(encoding="utf-8")
    assert "Corrected on" in md and "The bridge is for cyclists and walkers." in md
