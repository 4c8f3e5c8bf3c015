"""`digest run` against a loopback server that misbehaves: transport faults are retried,
answer faults are re-asked with what was wrong, and what stays wrong is withheld."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from support.answers import answer_for
from support.cli import Result, invoke
from support.openai_server import CANNED, HALLUCINATION, FakeOpenAI, Fault
from support.paths import SEED

from digest.ingest.sentences import number_sentences, split_sentences

KEY = "sk-test-SECRET"


def run_seed(capsys: pytest.CaptureFixture[str], langs: str = "en", *extra: str) -> Result:
    # One worker: queued faults then hit the tasks in a known order.
    return invoke(capsys, "run", str(SEED), "--lang", langs, "-j", "1", "--out", "out", *extra)


@pytest.fixture
def no_floors(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the gates withhold, seen bare: no extract or other-language summary in its place."""
    monkeypatch.setenv("DIGEST_EXTRACT_FALLBACK", "false")
    monkeypatch.setenv("DIGEST_SOURCE_LANGUAGE_FALLBACK", "false")


def manifest(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    return data


def result_for(tmp_path: Path, lang: str) -> dict[str, Any]:
    [story] = [r for r in manifest(tmp_path)["results"] if r["lang"] == lang]
    assert isinstance(story, dict)
    return story


def outputs(tmp_path: Path) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in sorted((tmp_path / "out").iterdir())}


def last_user_message(request: dict[str, Any]) -> str:
    message = request["messages"][-1]
    assert message["role"] == "user"
    return str(message["content"])


# ---- 3. transport faults: retried, never re-asked -------------------------------------


def test_rate_limit_honours_retry_after_then_succeeds(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.enqueue(Fault.status(429, retry_after=1))
    result = run_seed(capsys)

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 2  # exactly one extra call
    assert endpoint_env.requests[0] == endpoint_env.requests[1]  # the same request, resent
    story = result_for(tmp_path, "en")
    assert story["status"] == "published" and story["attempts"] == 1


def test_server_errors_twice_then_ok(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The first task finds the JSON mode; the second meets the faults.
    endpoint_env.enqueue(Fault.hang(0))  # a zero-second hang: a normal answer
    endpoint_env.enqueue(Fault.status(500), Fault.status(503))
    result = run_seed(capsys, "en,de")

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 4
    de_requests = endpoint_env.requests[1:]
    assert all(r == de_requests[0] for r in de_requests)  # resent, not re-asked
    assert manifest(tmp_path)["structured_mode"] == "json_schema"
    assert result_for(tmp_path, "de")["attempts"] == 1


def test_first_call_503_keeps_json_schema(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.enqueue(Fault.status(503))
    result = run_seed(capsys)

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 2
    assert manifest(tmp_path)["structured_mode"] == "json_schema"


def test_transient_500_on_first_call_does_not_downgrade_json_mode(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.enqueue(Fault.status(500))
    result = run_seed(capsys)

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 2
    formats = [r["response_format"]["type"] for r in endpoint_env.requests]
    assert formats == ["json_schema", "json_schema"]
    assert manifest(tmp_path)["structured_mode"] == "json_schema"


def test_hang_longer_than_timeout_is_retried(
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIGEST_TIMEOUT", "1")
    endpoint_env.enqueue(Fault.hang(4))
    result = run_seed(capsys)

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 2
    assert result_for(tmp_path, "en")["status"] == "published"


def test_timeout_from_digest_toml(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Under the default 120 s timeout the 4 s hang would end in an answer and exit 0.
    (tmp_path / "digest.toml").write_text("timeout = 1\nretries = 1\n", encoding="utf-8")
    endpoint_env.enqueue(Fault.hang(4))
    result = run_seed(capsys)

    assert result.code == 4
    assert endpoint_env.chat_calls == 1
    assert "127.0.0.1" in result.err and KEY not in result.err


def test_dropped_connection_is_retried(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.enqueue(Fault.drop())
    result = run_seed(capsys)

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 2
    assert result_for(tmp_path, "en")["attempts"] == 1


def test_endpoint_that_keeps_failing_is_exit_4(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_RETRIES", "2")
    endpoint_env.set_default(Fault.status(503))
    result = run_seed(capsys)

    assert result.code == 4
    # The capability probe, before the fan-out, meets the outage first: two attempts, stop.
    assert (endpoint_env.probe_calls, endpoint_env.chat_calls) == (2, 0)
    errors = [ln for ln in result.err.splitlines() if ln.startswith("digest: error:")]
    assert len(errors) == 1 and "503" in errors[0]


# ---- 4. answer faults: re-asked with feedback, withheld if they persist ---------------


@pytest.mark.parametrize(
    ("fault", "feedback"),
    [
        (Fault.raw("not json"), "not valid JSON"),
        (Fault.truncated(), "cut off"),
        (Fault.empty(), "empty"),
        (Fault.refusal(), "Do not refuse"),
        (Fault.raw('{"headline": "only a headline"}'), "summary"),
    ],
    ids=["not-json", "truncated", "empty", "refusal", "schema"],
)
def test_bad_answer_is_reasked_with_what_was_wrong(
    fault: Fault,
    feedback: str,
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    endpoint_env.enqueue(fault)
    result = run_seed(capsys)

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 2
    first, reask = endpoint_env.requests
    assert reask["messages"][: len(first["messages"])] == first["messages"]
    assert reask["messages"][-2]["role"] == "assistant"
    assert feedback in last_user_message(reask)
    story = result_for(tmp_path, "en")
    assert story["status"] == "published" and story["attempts"] == 2
    assert story["usage"]["calls"] == 2


def test_refusal_as_content_is_reasked(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Local models have no refusal field: the apology arrives as the content.
    endpoint_env.enqueue(Fault.refusal(in_field=False))
    result = run_seed(capsys)

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 2
    assert "I'm sorry" not in outputs(tmp_path)["digest.en.md"]


def test_persistent_wrong_language_is_withheld_with_a_localized_note(
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    no_floors: None,
) -> None:
    endpoint_env.set_default(Fault.wrong_language("en"))  # right for en, wrong for tr
    result = run_seed(capsys, "en,tr")

    assert result.code == 3
    # en: one call; tr: the first ask plus the default two re-asks.
    assert endpoint_env.chat_calls == 1 + 3
    tr_requests = endpoint_env.requests[1:]
    assert all("language" in last_user_message(r) for r in tr_requests[1:])
    tr = result_for(tmp_path, "tr")
    assert tr["status"] == "withheld" and tr["attempts"] == 3
    assert "language" in tr["reason"] and "Turkish" in tr["reason"]
    assert [c["status"] for c in tr["checks"] if c["name"] == "language"] == ["fail"]
    assert result_for(tmp_path, "en")["status"] == "published"
    md = outputs(tmp_path)["digest.tr.md"]
    assert "Doğrulanmış Türkçe özet yok" in md
    assert "Officials said the situation" not in md  # the English answer is not published
    assert "withheld [tr]" in result.err and "withheld 1" in result.out


def test_reasks_setting_bounds_the_calls(
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_floors: None,
) -> None:
    monkeypatch.setenv("DIGEST_REASKS", "0")
    endpoint_env.set_default(Fault.raw("still not json"))
    result = run_seed(capsys)

    assert result.code == 3
    assert endpoint_env.chat_calls == 1
    story = result_for(tmp_path, "en")
    assert story["status"] == "withheld" and "not valid JSON" in story["reason"]


def test_persistent_hallucination_is_withheld_and_never_published(
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    no_floors: None,
) -> None:
    endpoint_env.set_default(Fault.hallucinate())
    result = run_seed(capsys)

    assert result.code == 3
    assert endpoint_env.chat_calls == 3
    story = result_for(tmp_path, "en")
    assert story["status"] == "withheld"
    failed = {c["name"] for c in story["checks"] if c["status"] == "fail"}
    assert {"numbers", "entities"} <= failed
    for name, text in outputs(tmp_path).items():
        if name.startswith("digest."):
            for invented in ("FIFA", "9,999,999", "Okonkwo", "Zebulon"):
                assert invented not in text, (name, invented)
    assert "No verified English summary" in outputs(tmp_path)["digest.en.md"]


def test_a_failed_summary_in_the_articles_language_gives_way_to_its_extract(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.set_default(Fault.hallucinate())
    result = run_seed(capsys)

    assert result.code == 0, result.err  # the reader gets a checked story, not a note
    story = result_for(tmp_path, "en")
    assert story["status"] == "published" and story["origin"] == "extract"
    assert "numbers" in story["note"] and "extract shown" in result.err
    sentences = story["summary"]["sentences"] + story["summary"]["points"]
    article = SEED.read_text("utf-8")
    for claim in sentences:  # the article's own sentences, each citing itself
        assert claim["text"] in article and len(claim["evidence"]) == 1
    for name, text in outputs(tmp_path).items():
        if name.startswith("digest."):
            assert "FIFA" not in text and "Okonkwo" not in text, name


# What OpenAI (and vLLM) answer when a request is longer than the model's context.
CONTEXT_400 = json.dumps(
    {
        "error": {
            "message": "This model's maximum context length is 4096 tokens. However, you "
            "requested 6229 tokens (5329 in the messages, 900 in the completion).",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    }
)
# llama.cpp's own server says it in its message only.
LLAMA_CPP_400 = json.dumps(
    {"error": {"code": 400, "message": "the request exceeds the available context size"}}
)


@pytest.mark.parametrize("body", [CONTEXT_400, LLAMA_CPP_400], ids=["openai", "llama.cpp"])
def test_an_article_too_long_for_the_context_is_one_item_not_the_run(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str
) -> None:
    endpoint_env.enqueue(Fault.status(400, body=body))
    result = run_seed(capsys)

    assert result.code == 0, result.err  # the reader gets the extract, checked
    assert "refused the request" not in result.err and "Traceback" not in result.err
    story = result_for(tmp_path, "en")
    assert story["status"] == "published" and story["origin"] == "extract"
    assert "too long for the model's context" in story["note"]
    assert endpoint_env.chat_calls == 1  # never re-asked: the same request cannot fit


def test_a_reask_that_outgrows_the_context_keeps_the_first_verdict(
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    no_floors: None,
) -> None:
    endpoint_env.enqueue(Fault.hallucinate(), Fault.status(400, body=CONTEXT_400))
    result = run_seed(capsys)

    assert result.code == 3, result.err  # withheld on the first answer's checks, run goes on
    assert "refused the request" not in result.err and "Traceback" not in result.err
    story = result_for(tmp_path, "en")
    assert story["status"] == "withheld" and "numbers" in story["reason"]
    assert endpoint_env.chat_calls == 2


def test_withheld_candidate_text_is_not_in_the_manifest(
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    no_floors: None,
) -> None:
    endpoint_env.set_default(Fault.hallucinate())
    assert run_seed(capsys).code == 3
    text = outputs(tmp_path)["manifest.json"]
    assert HALLUCINATION.split(":")[0] not in text  # "FIFA World Cup 2018"
    assert "Marguerite Okonkwo-Vance" not in text


class ActiveContent(HTMLParser):
    """Every element or attribute of a page that could run code or load something."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "img"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            target = (value or "").strip().lower()
            if name.startswith("on") or target.startswith(("javascript:", "data:", "vbscript:")):
                self.found.append(f"<{tag} {name}={value!r}>")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found


def assert_inert(files: dict[str, str]) -> None:
    for name, text in files.items():
        if name.endswith(".html"):
            assert active_content(text) == [], name
        if name.endswith(".md"):
            assert "<" not in text, name  # raw HTML in Markdown is passed through by renderers
            # Links only to http(s); an escaped "\](" is text, not a link.
            assert re.search(r"(?<!\\)\]\((?!https?://)", text) is None, name
            assert re.search(r"(?<!\\)!\[", text) is None, name  # no images (trackers)
            # A "#" opening a list item would render as a heading inside it.
            assert re.search(r"^(?:[-*] )?#+ injected", text, flags=re.MULTILINE) is None, name


def test_hostile_answer_never_reaches_html_or_markdown(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The fake's hostile answer also carries a URL with an IP address, a number the article
    # lacks, so the gate withholds it; nothing of it may reach a page either way.
    endpoint_env.set_default(Fault.hostile())
    result = run_seed(capsys, "en,ar")

    assert result.code == 3
    files = outputs(tmp_path)
    assert_inert(files)
    for name, text in files.items():
        if name.startswith("digest.") and not name.endswith(".txt"):
            for bad in ("<script", "onerror=", "javascript:"):
                assert bad not in text.lower(), (name, bad)


def test_hostile_markup_in_a_faithful_answer_is_published_as_inert_text(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    headline, sentences = CANNED["en"]
    answer = {
        "headline": f"{headline} <script>alert(document.cookie)</script>",
        "summary": f'{sentences[0]} <img src=x onerror="alert(document.cookie)"> {sentences[1]}',
        "key_points": [
            f"{sentences[1]} [click here](javascript:alert(document.cookie))",
            f"**{sentences[2]}** | --- | <a href='javascript:void(document.cookie)'>x</a>",
            f"# injected heading ![tracker](pixel.png) {sentences[3]}",
        ],
    }
    endpoint_env.enqueue(Fault.raw(json.dumps(answer)))
    # The first prompt version (no evidence ids): this is about what rendering does with
    # markup inside an answer that passes every check.
    result = run_seed(capsys, "en", "--prompt", "summarize@1", "--strategy", "direct")

    assert result.code == 0, result.err
    story = result_for(tmp_path, "en")
    assert story["status"] == "published" and story["attempts"] == 1, story["reason"]
    files = outputs(tmp_path)
    assert_inert(files)
    html, md = files["digest.en.html"], files["digest.en.md"]
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in html  # shown, not run
    assert "alert(document.cookie)" in md
    assert "&lt;script>" in md  # escaped only where a tag would open


# ---- transient errors never decide anything -------------------------------------------


def test_429_then_500_on_every_task_is_retried_and_the_run_publishes(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The reported run: each task's first attempt 429 (Retry-After), the second 500.
    endpoint_env.latency, endpoint_env.jitter = 0.05, 0.3  # overlapping, never in step
    endpoint_env.each_task(Fault.status(429, retry_after=0.2), Fault.status(500))
    result = invoke(capsys, "run", str(SEED), "--lang", "en,tr", "--out", "out")

    assert result.code == 0, result.err
    assert [r["status"] for r in manifest(tmp_path)["results"]] == ["published"] * 2
    assert all(r["attempts"] == 1 for r in manifest(tmp_path)["results"])
    assert endpoint_env.chat_calls == 2 * 3  # each task: 429, 500, answer


def test_a_passing_500_never_chooses_the_json_mode(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.latency = 0.05  # the tasks overlap
    endpoint_env.each_task(Fault.status(500))
    result = invoke(capsys, "run", str(SEED), "--lang", "en,tr,de,fr", "--out", "out")

    assert result.code == 0, result.err
    formats = {r["response_format"]["type"] for r in endpoint_env.requests}
    assert formats == {"json_schema"}
    assert manifest(tmp_path)["structured_mode"] == "json_schema"


def test_keys_the_schema_does_not_name_are_ignored_and_recorded(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Hosted models add keys of their own; the fields we need are all there and good.
    numbered = number_sentences(split_sentences(SEED.read_text("utf-8"), "en"))
    request = {
        "messages": [{"role": "user", "content": f"{numbered}\nTarget language: English (en)"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "summary_evidence"}},
    }
    answer = {
        **answer_for(request),
        "confidence": 0.92,
        "notes": "summarised from the first paragraphs",
        "language": "en",
    }
    endpoint_env.enqueue(Fault.raw(json.dumps(answer)))
    result = run_seed(capsys)

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 1  # not re-asked
    story = result_for(tmp_path, "en")
    assert story["status"] == "published" and story["attempts"] == 1
    assert story["extra_keys"] == ["confidence", "language", "notes"]
    assert "summarised from the first paragraphs" not in outputs(tmp_path)["digest.en.md"]
