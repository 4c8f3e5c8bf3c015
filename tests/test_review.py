"""The editor in the loop: decisions before sending (the desk and the preview's write path),
``review = "required"`` at send time, corrections after, and corrections carried forward."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from support.cli import invoke
from support.serving import serving
from test_render import SAMPLE_TEXT, make_digest, make_summary

from digest.config import load_settings
from digest.corrections import pending
from digest.delivery.mail import SEND_LOG, received
from digest.delivery.subscribers import LogEntry, SendLog
from digest.desk import DESK_FILE, Desk, editor_text
from digest.edition import write_edition
from digest.errors import UsageError
from digest.manifest import Manifest
from digest.models import Claim, Digest
from digest.output.preview import PreviewServer, make_server
from digest.output.review_pages import ReviewSession
from digest.review import REVIEW_FILE, load_record

EDITOR = "Ana Lima"
SOURCE = SAMPLE_TEXT["en"][1] + " The mayor, Dana Whitcombe, welcomed the vote."
GOOD_EDIT = {
    "headline": "Town council backs a new cycle bridge",
    "summary": "The council voted 23 to 4 to build a 140-metre bridge for cyclists and "
    "walkers, paid mostly by a national grant.",
    "points": "Construction should start next spring.\nIt will take about eighteen months "
    "to build.\nOpponents wanted the money spent on road repairs.",
}
POINTS = {
    "en": GOOD_EDIT["points"].splitlines(),
    "tr": [
        "Köprü 140 metre uzunluğunda olacak.",
        "İnşaatın gelecek ilkbaharda başlaması bekleniyor.",
        "Karşı çıkanlar paranın yol onarımına harcanmasını istedi.",
    ],
}
INVENTED = "The council voted 99 to 1 to build a bridge in Paris for Marguerite Okonkwo."


def review_digest(edition_date: date = date(2024, 3, 12)) -> Digest:
    """Three stories in en and tr with a real article text; story 1 withheld in English
    (its draft kept, as summarise keeps the answer the checks refused)."""
    digest = make_digest("en,tr", stories=3, withheld={(1, "en")})
    articles = [a.model_copy(update={"text": SOURCE}) for a in digest.articles]
    results = []
    for i, r in enumerate(digest.results):
        summary = make_summary(r.lang, i // 2)
        summary.headline = SAMPLE_TEXT[r.lang][0]  # no story number: it is not in the source
        summary.points = [Claim(text=point) for point in POINTS[r.lang]]
        if r.status == "withheld":
            summary.headline = "A draft the checks refused"
        results.append(r.model_copy(update={"summary": summary}))
    return digest.model_copy(
        update={"articles": articles, "results": results, "edition_date": edition_date}
    )


def write_review_edition(out: Path, edition_date: date = date(2024, 3, 12)) -> Path:
    write_edition(review_digest(edition_date), out, started=time.monotonic())
    return out


def ids(folder: Path) -> list[str]:
    return [a.id for a in Manifest.load(folder).articles]


def shown(folder: Path, article_id: str, lang: str) -> dict[str, object]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return next(
        r for r in manifest["results"] if (r["article_id"], r["lang"]) == (article_id, lang)
    )


def good_text() -> object:
    return editor_text(
        GOOD_EDIT["headline"], GOOD_EDIT["summary"], GOOD_EDIT["points"].splitlines()
    )


def log_sent(folder: Path, email: str, lang: str, when: datetime | None = None) -> None:
    key = Manifest.load(folder).key
    SendLog(folder / SEND_LOG).append(
        LogEntry(
            edition=key,
            email=email,
            lang=lang,
            message_id="<m@x>",
            time=when or datetime.now(UTC),
        )
    )


@pytest.fixture
def edition(tmp_path: Path) -> Path:
    return write_review_edition(tmp_path / "out")


# --- the desk ---------------------------------------------------------------------------


def test_the_edition_keeps_article_texts_and_withheld_drafts_for_the_desk_only(edition: Path):
    desk = json.loads((edition / DESK_FILE).read_text())
    assert set(desk["articles"].values()) == {SOURCE}
    withheld = [a for a in desk["answers"] if a["status"] == "withheld"]
    assert len(withheld) == 1 and withheld[0]["summary"]["headline"]
    manifest = (edition / "manifest.json").read_text()
    assert withheld[0]["summary"]["headline"] not in manifest  # never published
    assert SOURCE not in manifest
    assert not (edition / REVIEW_FILE).exists()
    assert all(r["editor"] is None for r in json.loads(manifest)["results"])


def test_decisions_are_recorded_and_the_edition_re_rendered_at_once(edition: Path):
    a, b, c = ids(edition)
    desk = Desk(edition)
    desk.decide(a, "en", "approve", editor=EDITOR)
    desk.decide(b, "en", "publish", editor=EDITOR, reason="the names are right")
    desk.decide(c, "en", "edit", editor=EDITOR, summary=good_text())  # type: ignore[arg-type]
    desk.decide(a, "tr", "reject", editor=EDITOR, reason="misleading headline")

    md_en = (edition / "digest.en.md").read_text()
    assert "Town council backs a new cycle bridge" in md_en
    assert "*Edited by the newsroom.*" in md_en
    assert "Published by the newsroom after review, although not every automatic check" in md_en
    assert "No verified" not in md_en  # the withheld story is published now
    txt_tr = (edition / "digest.tr.txt").read_text()
    assert "Bu özet haber masası tarafından yayımlanmadı" in txt_tr  # rejected, like withheld
    html_en = (edition / "digest.en.html").read_text()
    assert "Town council backs a new cycle bridge" in html_en

    record = load_record(edition)
    assert [(d.action, d.editor) for d in record.decisions] == [
        ("approve", EDITOR),
        ("publish", EDITOR),
        ("edit", EDITOR),
        ("reject", EDITOR),
    ]
    assert record.decisions[1].reason == "the names are right"
    assert all(c.status == "ok" for c in record.decisions[2].checks)
    manifest = Manifest.load(edition)
    assert manifest.review == record
    assert shown(edition, c, "en")["editor"]["action"] == "edited"  # type: ignore[index]
    rejected = shown(edition, a, "tr")
    assert rejected["status"] == "withheld" and rejected["summary"] is None
    assert rejected["reason"] == f"rejected by {EDITOR}: misleading headline"


def test_an_edit_that_fails_the_checks_needs_a_reason(edition: Path):
    a, _, _ = ids(edition)
    desk = Desk(edition)
    bad = editor_text("Bridge vote", INVENTED, ["One point here.", "Two points here.", "Three."])
    with pytest.raises(UsageError, match=r"fails the checks \(.*numbers: .*entities: "):
        desk.decide(a, "en", "edit", editor=EDITOR, summary=bad)
    assert not (edition / REVIEW_FILE).exists()  # nothing recorded
    desk.decide(a, "en", "edit", editor=EDITOR, summary=bad, reason="quoting the mayor")
    assert "not every automatic check passed" in (edition / "digest.en.md").read_text()
    assert load_record(edition).decisions[0].checks[2].status == "fail"


@pytest.mark.parametrize(
    ("story", "lang", "action", "reason", "message"),
    [
        (1, "en", "approve", "", "cannot be approved"),
        (1, "en", "publish", "", "needs a reason"),
        (0, "en", "publish", "ok", "published already"),
        (0, "en", "edit", "", "needs its text"),
        (0, "fr", "approve", "", "has no language 'fr'"),
    ],
)
def test_decisions_that_do_not_fit_the_item_are_refused(
    edition: Path, story: int, lang: str, action: str, reason: str, message: str
):
    with pytest.raises(UsageError, match=message):
        Desk(edition).decide(ids(edition)[story], lang, action, editor=EDITOR, reason=reason)  # type: ignore[arg-type]
    assert not (edition / REVIEW_FILE).exists()


def test_a_re_run_keeps_decisions_unless_the_answer_changed(edition: Path):
    a, _, _ = ids(edition)
    Desk(edition).decide(a, "tr", "reject", editor=EDITOR)
    write_review_edition(edition)  # same answers (a cached re-run)
    assert shown(edition, a, "tr")["status"] == "withheld"
    digest = review_digest()
    other = make_summary("tr", 7)
    results = [
        r.model_copy(update={"summary": other}) if (r.article_id, r.lang) == (a, "tr") else r
        for r in digest.results
    ]
    write_edition(digest.model_copy(update={"results": results}), edition, started=0.0)
    now = shown(edition, a, "tr")
    assert now["status"] == "published" and now["editor"] is None  # undecided again


def test_text_from_an_old_edition_is_read_again_only_if_it_still_matches(tmp_path: Path):
    source = tmp_path / "story.txt"
    source.write_text("Bridge vote\n\n" + SOURCE + "\n", encoding="utf-8")
    from digest.ingest.files import load_inputs

    article = load_inputs([str(source)]).articles[0]
    digest = review_digest()
    digest = digest.model_copy(
        update={
            "articles": [article],
            "results": [
                r.model_copy(update={"article_id": article.id}) for r in digest.results[:2]
            ],
        }
    )
    out = tmp_path / "old"
    write_edition(digest, out, started=0.0)
    (out / DESK_FILE).unlink()  # as written before the desk existed
    desk = Desk(out)
    assert desk.article_text(desk.manifest.articles[0]) == article.text
    source.write_text("Something else entirely, edited since.\n", encoding="utf-8")
    with pytest.raises(UsageError, match="article text is not in"):
        Desk(out).decide(article.id, "en", "edit", editor=EDITOR, summary=good_text())  # type: ignore[arg-type]


# --- the preview's write path -----------------------------------------------------------


@pytest.fixture
def review_server(edition: Path) -> Iterator[PreviewServer]:
    session = ReviewSession(editor=EDITOR)
    with serving(make_server(edition, "127.0.0.1", 0, session)) as server:
        yield server


def request(
    server: PreviewServer,
    method: str,
    path: str,
    body: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=20)
    try:
        data = urlencode(body).encode() if body is not None else None
        sent = {"Origin": f"http://127.0.0.1:{server.server_port}"} if data else {}
        if data:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.update(headers or {})
        conn.request(method, path, body=data, headers={k: v for k, v in sent.items() if v})
        response = conn.getresponse()
        text = response.read().decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        conn.close()


def form(
    server: PreviewServer, article: str, lang: str, action: str, **extra: str
) -> dict[str, str]:
    assert server.review is not None
    return {
        "token": server.review.token,
        "article": article,
        "lang": lang,
        "action": action,
        **extra,
    }


def test_review_page_shows_every_item_with_the_token_and_a_strict_csp(
    review_server: PreviewServer, edition: Path
):
    status, headers, html = request(review_server, "GET", "/review")
    assert status == 200
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    nonce = re.search(r"'nonce-([\w-]+)'", csp)
    assert nonce and re.findall(r"<script[^>]*>", html) == [f'<script nonce="{nonce[1]}">']
    assert html.count(f'name="token" value="{review_server.review.token}"') == 12  # type: ignore[union-attr]
    assert html.count('class="item is-undecided"') == 6 and "6 items undecided" in html
    assert "Publish with reason" in html and "Keep withheld" in html
    assert EDITOR in html
    index = request(review_server, "GET", "/")[2]
    assert 'href="/review"' in index


def test_a_decision_posted_from_the_page_is_saved_and_redirects_back(
    review_server: PreviewServer, edition: Path
):
    a = ids(edition)[0]
    status, headers, _ = request(
        review_server, "POST", "/review", form(review_server, a, "en", "approve")
    )
    assert status == 303 and headers["location"] == f"/review#item-{a}-en"
    assert load_record(edition).decisions[0].editor == EDITOR  # from the command line
    html = request(review_server, "GET", "/review")[2]
    assert f"Approved by {EDITOR}" in html and "5 items undecided" in html


def test_a_refused_edit_comes_back_with_the_reason_and_the_text(
    review_server: PreviewServer, edition: Path
):
    a = ids(edition)[0]
    body = form(review_server, a, "en", "edit", headline="Bridge <b>vote</b>", summary=INVENTED)
    body["points"] = "One point here.\nTwo points here.\nThree points."
    status, _, html = request(review_server, "POST", "/review", body)
    assert status == 422
    assert "fails the checks" in html and "Marguerite Okonkwo" in html
    assert "Bridge &lt;b&gt;vote&lt;/b&gt;" in html and "<b>vote" not in html
    assert not (edition / REVIEW_FILE).exists()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"token": "guessed"}, 403),
        ({"token": ""}, 403),
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": ""}, 403),  # no Origin at all
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Host": "evil.example"}, 400),
        ({"Content-Type": "text/plain"}, 400),
        ({"Content-Type": "multipart/form-data; boundary=x"}, 400),
    ],
)
def test_a_post_that_is_not_the_pages_own_is_refused(
    review_server: PreviewServer, edition: Path, change: dict[str, str], status: int
):
    body = form(review_server, ids(edition)[0], "en", "approve")
    headers = {}
    for key, value in change.items():
        if key == "token":
            body["token"] = value
        else:
            headers[key] = value
    assert request(review_server, "POST", "/review", body, headers)[0] == status
    assert not (edition / REVIEW_FILE).exists()


def test_without_review_mode_there_is_no_write_path(edition: Path):
    with serving(make_server(edition, "127.0.0.1", 0)) as server:
        assert request(server, "GET", "/review")[0] == 404
        body = {"token": "x", "article": ids(edition)[0], "lang": "en", "action": "approve"}
        assert request(server, "POST", "/review", body)[0] == 404
    assert not (edition / REVIEW_FILE).exists()


def test_review_serves_only_on_loopback(edition: Path):
    with pytest.raises(UsageError, match="--review serves only on a loopback address"):
        make_server(edition, "0.0.0.0", 0, ReviewSession(editor=EDITOR))


def test_review_on_another_address_is_one_line_usage_error(
    edition: Path, capsys: pytest.CaptureFixture[str]
):
    result = invoke(capsys, "preview", str(edition), "--review", "--host", "0.0.0.0")
    assert result.code == 2
    assert result.err == "digest: error: --review serves only on a loopback address, not 0.0.0.0\n"


def test_hostile_text_on_the_review_page_stays_text(tmp_path: Path):
    from test_render import hostile_digest

    write_edition(hostile_digest(), tmp_path, started=0.0)
    with serving(make_server(tmp_path, "127.0.0.1", 0, ReviewSession(editor="<i>x</i>"))) as srv:
        html = request(srv, "GET", "/review")[2]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;i&gt;x&lt;/i&gt;" in html
    assert len(re.findall(r"<script", html)) == 1
    assert "<img" not in html and 'href="javascript' not in html.lower()
    assert not re.search(r"<[^>]*\son\w+=", html)


# --- review = "required" at send time ---------------------------------------------------


def test_review_setting_is_a_flat_key_a_section_and_an_environment_variable(tmp_path: Path):
    flat = tmp_path / "flat.toml"
    flat.write_text('review = "required"\neditor = "Ana"\n')
    table = tmp_path / "table.toml"
    table.write_text('[review]\nmode = "required"\n')
    assert load_settings({}, flat, env={}).review.mode == "required"
    assert load_settings({}, flat, env={}).review.editor == "Ana"
    assert load_settings({}, table, env={}).review.mode == "required"
    assert load_settings({}, None, env={"DIGEST_REVIEW": "required"}).review.mode == "required"
    assert load_settings({}, None, env={}).review.mode == "optional"
    bad = tmp_path / "bad.toml"
    bad.write_text('review = "sometimes"\n')
    with pytest.raises(UsageError, match="review.mode"):
        load_settings({}, bad, env={})


def test_send_refuses_undecided_items_when_review_is_required(
    edition: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    config = tmp_path / "review.toml"  # not ./digest.toml, which every command would read
    config.write_text('review = "required"\n')
    args = ["send", str(edition), "--to", "a@example.org", "--dry-run", "--from", "d@x.org"]
    refused = invoke(capsys, *args, "--lang", "en", "--config", str(config))
    assert refused.code == 2
    (line,) = refused.err.splitlines()
    assert line.startswith('digest: error: review = "required": 3 undecided item(s) in ')
    assert "[en] Larkford council approves cycle bridge, part 0" in line
    assert f"digest preview {edition} --review" in line
    assert not (edition / "outbox").exists()

    desk = Desk(edition)
    a, b, c = ids(edition)
    desk.decide(a, "en", "approve", editor=EDITOR)
    desk.decide(b, "en", "reject", editor=EDITOR)
    desk.decide(c, "en", "approve", editor=EDITOR)
    sent = invoke(capsys, *args, "--lang", "en", "--config", str(config))
    assert sent.code == 0, sent.err
    assert invoke(capsys, *args, "--lang", "tr", "--config", str(config)).code == 2
    assert invoke(capsys, *args, "--lang", "tr").code == 0  # the default keeps today's way


# --- corrections --------------------------------------------------------------------------


def test_correct_rewrites_the_archive_copy_and_names_who_got_the_earlier_text(
    edition: Path, capsys: pytest.CaptureFixture[str]
):
    a = ids(edition)[0]
    log_sent(edition, "Ana@Example.org", "en")
    log_sent(edition, "bo@example.org", "en")
    log_sent(edition, "cy@example.org", "tr")
    result = invoke(
        capsys, "correct", str(edition), "--story", a, "--lang", "en",
        "--summary", "The council voted 23 to 4 to build the 140-metre bridge.",
        "--note", "The vote was 23 to 4.", "--editor", EDITOR,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert f"corrected [en] {a}" in result.out
    assert "2 recipient(s): Ana@Example.org, bo@example.org" in result.out

    md = (edition / "digest.en.md").read_text()
    today = datetime.now(UTC).date()
    assert "The council voted 23 to 4 to build the 140\\-metre bridge." in md or (
        "The council voted 23 to 4 to build the 140-metre bridge." in md
    )
    assert f"*Corrected on {today.strftime('%B')} {today.day}, {today.year}: The vote was" in md
    (correction,) = load_record(edition).corrections
    assert correction.recipients == ["Ana@Example.org", "bo@example.org"]
    assert correction.previous.headline == SAMPLE_TEXT["en"][0]
    assert correction.summary.headline == correction.previous.headline  # kept as sent
    public = Manifest.load(edition).review
    assert public == load_record(edition).public()
    assert public.corrections[0].received_by == 2  # type: ignore[union-attr]
    manifest_text = (edition / "manifest.json").read_text()
    assert "bo@example.org" not in manifest_text  # it may be published; review.json is not
    assert shown(edition, a, "en")["editor"]["action"] == "corrected"  # type: ignore[index]


def test_a_correction_is_refused_when_nobody_got_the_text_or_it_fails_the_checks(
    edition: Path, capsys: pytest.CaptureFixture[str]
):
    a = ids(edition)[0]
    args = ["correct", str(edition), "--story", a, "--lang", "en", "--note", "fix"]
    unsent = invoke(capsys, *args, "--summary", GOOD_EDIT["summary"])
    assert unsent.code == 2 and "nobody has received the en edition" in unsent.err
    log_sent(edition, "a@example.org", "en")
    invented = invoke(capsys, *args, "--summary", INVENTED)
    assert invented.code == 2 and "fails the checks" in invented.err
    assert len(invented.err.splitlines()) == 1
    same = invoke(capsys, *args, "--headline", SAMPLE_TEXT["en"][0])
    assert same.code == 2 and "changes nothing" in same.err
    unknown = invoke(capsys, *args[:3], "nope", *args[4:], "--summary", GOOD_EDIT["summary"])
    assert unknown.code == 2 and "'nope' is no story" in unknown.err
    several = invoke(capsys, *args[:3], a[:6], *args[4:], "--summary", GOOD_EDIT["summary"])
    assert several.code == 2 and "matches several stories" in several.err
    assert not (edition / REVIEW_FILE).exists()
    with pytest.raises(UsageError, match="the en edition was sent already: correct the story"):
        Desk(edition).decide(a, "en", "reject", editor=EDITOR)
    Desk(edition).decide(a, "tr", "reject", editor=EDITOR)  # tr was not sent
    forced = invoke(capsys, *args, "--summary", INVENTED, "--force", "quoting the mayor")
    assert forced.code == 0, forced.err
    assert load_record(edition).corrections[0].reason == "quoting the mayor"


def test_recipients_are_those_who_got_the_text_before_the_correction(edition: Path):
    log_sent(edition, "early@example.org", "en", datetime(2024, 3, 12, 7, tzinfo=UTC))
    log_sent(edition, "late@example.org", "en", datetime(2024, 3, 13, 7, tzinfo=UTC))
    key = Manifest.load(edition).key
    before = datetime(2024, 3, 12, 12, tzinfo=UTC)
    assert received(edition, key, "en", before=before) == ["early@example.org"]
    assert received(edition, key, "en") == ["early@example.org", "late@example.org"]
    assert received(edition, "another edition", "en") == []


def test_the_next_dated_edition_carries_corrections_once(tmp_path: Path):
    editions = tmp_path / "briefings"
    first = write_review_edition(editions / "2024-03-12", date(2024, 3, 12))
    a = ids(first)[0]
    log_sent(first, "a@example.org", "tr")
    Desk(first).correct(
        a, "tr", editor=EDITOR, note="Oylama 23'e 4 idi.", headline="Meclis köprüyü onayladı"
    )
    next_day = review_digest(date(2024, 3, 13))
    write_edition(next_day, editions / "2024-03-13", started=0.0, editions=editions)

    md_tr = (editions / "2024-03-13" / "digest.tr.md").read_text()
    assert "## Düzeltmeler" in md_tr
    assert "**Meclis köprüyü onayladı**" in md_tr
    assert "12 Mart 2024 tarihli sayıda" in md_tr and "Oylama 23'e 4 idi." in md_tr
    assert "## Corrections" not in (editions / "2024-03-13" / "digest.en.md").read_text()
    html_tr = (editions / "2024-03-13" / "digest.tr.html").read_text()
    assert "Düzeltmeler" in html_tr and "Oylama 23" in html_tr
    carried = Manifest.load(editions / "2024-03-13").corrections
    assert [(c.article_id, c.lang, c.edition_date) for c in carried] == [
        (a, "tr", date(2024, 3, 12))
    ]
    assert load_record(first).corrections[0].carried_in == date(2024, 3, 13)
    assert Manifest.load(first).review.corrections[0].carried_in == date(2024, 3, 13)  # type: ignore[union-attr]

    # a re-run of the carrying day carries it again; the day after does not
    write_edition(next_day, editions / "2024-03-13", started=0.0, editions=editions)
    assert "## Düzeltmeler" in (editions / "2024-03-13" / "digest.tr.md").read_text()
    assert pending(editions, date(2024, 3, 14)) == ([], [])
    write_edition(
        review_digest(date(2024, 3, 14)), editions / "2024-03-14", started=0.0, editions=editions
    )
    assert "Düzeltmeler" not in (editions / "2024-03-14" / "digest.tr.md").read_text()


def test_an_unreadable_earlier_edition_is_a_warning_not_a_failure(tmp_path: Path):
    editions = tmp_path / "briefings"
    (editions / "2024-03-11").mkdir(parents=True)
    (editions / "2024-03-11" / REVIEW_FILE).write_text("{not json")
    outcome = write_edition(
        review_digest(date(2024, 3, 12)), editions / "2024-03-12", started=0.0, editions=editions
    )
    assert any("corrections in" in w and "not carried" in w for w in outcome.warnings)
