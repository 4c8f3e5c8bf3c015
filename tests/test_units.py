"""The modules under the CLI, called directly: asking and re-asking (digest.llm.ask), the
summarizer's verdict on claims (digest.summarize, digest.evidence), the subscriber list and
its language plan (digest.delivery.subscribers). The end-to-end tests drive them through a
real server; these pin their contracts one rule at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.paths import SEED

from digest.answers import EvidencedSummaryAnswer, SummaryAnswer
from digest.checks import feedback
from digest.delivery.subscribers import load_subscribers, parse_address, plan
from digest.errors import InputError, UsageError
from digest.evidence import SourceBook, evaluate, salvage
from digest.ingest.files import read_file
from digest.languages import parse_languages
from digest.llm.ask import AnswerFault, ask, parse_answer
from digest.llm.wire import Completion
from digest.models import Check, Claim, Summary, Usage
from digest.prompts import load_prompt

# ---- digest.llm.ask ---------------------------------------------------------------------

V1 = {
    "headline": "A three word headline",
    "summary": "Ten letters at least here.",
    "key_points": ["one two three", "four five six", "seven eight nine"],
}  # noqa: E501


def completion(content: str, finish: str = "stop", refusal: str | None = None) -> Completion:
    usage = Usage(calls=1, prompt_tokens=10, completion_tokens=5)
    return Completion(content=content, finish_reason=finish, refusal=refusal, usage=usage)


def test_parse_answer_takes_fenced_json_and_lists_extra_keys() -> None:
    text = "```json\n" + json.dumps({**V1, "confidence": 0.9}) + "\n```"
    value, extra = parse_answer(text, "stop", None, SummaryAnswer)
    assert isinstance(value, SummaryAnswer) and extra == ["confidence"]


@pytest.mark.parametrize(
    ("content", "finish", "refusal", "reason"),
    [
        ("", "stop", None, "empty answer"),
        ('{"headline": "cut', "length", None, "cut off"),
        ("not json", "stop", None, "not valid JSON"),
        ('{"headline": "x"}', "stop", None, "does not match the schema"),
        ("", "stop", "I can't", "refused"),
    ],
)
def test_parse_answer_names_each_fault(
    content: str, finish: str, refusal: str | None, reason: str
) -> None:
    with pytest.raises(AnswerFault) as info:
        parse_answer(content, finish, refusal, SummaryAnswer)
    assert reason in info.value.reason and info.value.feedback


def test_ask_re_asks_with_what_was_wrong_and_counts_every_call() -> None:
    conversations: list[list[dict[str, str]]] = []
    answers = iter(["not json", json.dumps(V1)])

    def complete(conversation: list[dict[str, str]]) -> Completion:
        conversations.append(list(conversation))
        return completion(next(answers))

    spec = load_prompt("summarize@1")
    answer = ask(
        complete,
        spec,
        [{"role": "user", "content": "hi"}],
        lambda v: [],
        reasks=2,
        feedback_text=feedback,
    )  # noqa: E501
    assert answer.reason is None and answer.attempts == 2 and answer.usage.calls == 2
    assert "not valid JSON" in conversations[1][-1]["content"]  # the re-ask says why


def test_ask_gives_up_after_its_re_asks_with_the_last_candidate() -> None:
    failing = [Check(name="numbers", status="fail", detail='"9" is not in the source')]
    spec = load_prompt("summarize@1")
    answer = ask(
        lambda _c: completion(json.dumps(V1)),
        spec,
        [{"role": "user", "content": "hi"}],
        lambda v: failing,
        reasks=1,
        feedback_text=feedback,
    )
    assert answer.attempts == 2 and answer.reason and "numbers" in answer.reason
    assert isinstance(answer.value, SummaryAnswer)  # kept (cache, re-checks), never published


# ---- digest.evidence and the summarizer's verdict ---------------------------------------


@pytest.fixture(scope="module")
def seed_source():  # type: ignore[no-untyped-def]
    return SourceBook().of(read_file(SEED))


def test_bounded_evidence_schema_allows_only_real_sentence_ids(seed_source) -> None:  # type: ignore[no-untyped-def]
    bounded = EvidencedSummaryAnswer.bounded(len(seed_source))
    good = {
        "headline": "Turkey in Idlib",
        "summary": [{"text": "A claim.", "evidence": [1]}],
        "key_points": [{"text": "P one.", "evidence": [2]}] * 3,
    }  # noqa: E501
    bounded.model_validate(good)
    bad = {**good, "summary": [{"text": "A claim.", "evidence": [len(seed_source) + 1]}]}
    with pytest.raises(ValueError):
        bounded.model_validate(bad)
    schema = json.dumps(bounded.model_json_schema())
    assert '"enum": [1, 2' in schema  # what llama.cpp's grammar can enforce


def summary_from(sentences: list[tuple[str, int]], points: list[tuple[str, int]]) -> Summary:
    return Summary(
        headline="Turkey has fulfilled its responsibilities in Idlib",
        sentences=[Claim(text=t, evidence=[i]) for t, i in sentences],
        points=[Claim(text=t, evidence=[i]) for t, i in points],
    )


def test_a_failing_key_point_is_dropped_when_three_remain(seed_source) -> None:  # type: ignore[no-untyped-def]
    s = seed_source.sentences
    summary = summary_from(
        [(s[0], 1)],
        [(s[1], 2), (s[2], 3), (s[3], 4), ("Turkey hit 99 regime targets.", 4)],
    )
    checked, combined = evaluate(summary, seed_source, lang="en")
    assert any(c.status == "fail" for c in combined)
    rescued = salvage(checked)
    assert rescued is not None
    kept, dropped = rescued
    assert len(kept.points) == 3 and dropped == ["Turkey hit 99 regime targets."]


def test_a_failing_summary_sentence_withholds_the_story(seed_source) -> None:  # type: ignore[no-untyped-def]
    s = seed_source.sentences
    summary = summary_from([("Turkey invaded Greece.", 1)], [(s[1], 2), (s[2], 3), (s[3], 4)])
    checked, _ = evaluate(summary, seed_source, lang="en")
    assert salvage(checked) is None


def test_plain_summaries_from_older_caches_still_load() -> None:
    old = Summary.model_validate(
        {"headline": "H h h", "summary": "One. Two.", "key_points": ["a b c"]}
    )
    assert (
        old.summary == "One. Two." and old.key_points == ["a b c"] and not old.sentences[0].evidence
    )


# ---- digest.delivery.subscribers --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ana Lima <ana@example.org>", ("Ana Lima", "ana@example.org")),
        ("ana@example.org", ("", "ana@example.org")),
    ],
)
def test_parse_address(text: str, expected: tuple[str, str]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("bad", ["no-at-sign", "Ana <ana@example.org>, Bo <bo@example.org>"])
def test_parse_address_refuses(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_address(bad)


def test_the_language_column_may_be_called_lang_and_unknown_columns_are_refused(
    tmp_path: Path,
) -> None:
    good = tmp_path / "subs.csv"
    good.write_text("email,name,lang\nana@example.org,Ana,ar\nbo@example.org,Bo,tr;de\n")
    [ana, bo] = load_subscribers(good)
    assert ana.languages == ["ar"] and bo.languages == ["tr", "de"]
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,idioma\nana@example.org,Ana,ar\n")
    with pytest.raises(InputError, match="unknown column 'idioma'"):
        load_subscribers(bad)


def test_plan_never_falls_back_silently(tmp_path: Path) -> None:
    subs = tmp_path / "subs.csv"
    subs.write_text("email,language\nana@example.org,ar\nbo@example.org,tr\n")
    recipients = load_subscribers(subs)
    edition = parse_languages("en,tr")
    jobs, fallbacks, unserved, _ = plan(edition, recipients, [])
    assert [(j.recipient.email, j.lang.code) for j in jobs] == [("bo@example.org", "tr")]
    assert [(u.recipient.email, u.wanted) for u in unserved] == [("ana@example.org", "ar")]
    jobs, fallbacks, unserved, _ = plan(edition, recipients, [], fallback="en")
    assert ("ana@example.org", "en") in [(j.recipient.email, j.lang.code) for j in jobs]
    assert [(f.wanted, f.fallback) for f in fallbacks] == [("ar", "en")] and not unserved
    with pytest.raises(UsageError, match="no 'fr'"):
        plan(edition, recipients, ["fr"])


def test_an_evidence_note_is_quoted_once_even_when_the_sentence_is_a_quotation() -> None:
    from digest.models import Article
    from digest.output.views import _Notes

    article = Article(
        id="a" * 16,
        title="Mayor opens bridge",
        text="The mayor opened the bridge on Monday. “It took ten years,” she said.",
        source="test",
        source_lang="en",
    )
    summary = Summary(
        headline="Bridge opens",
        sentences=[Claim(text="The bridge opened.", evidence=[1])],
        points=[Claim(text="It took ten years, the mayor said.", evidence=[2])],
    )
    notes = _Notes(enabled=True)
    notes.claims(summary, article)
    assert [n.quote for n in notes.notes] == [
        "“The mayor opened the bridge on Monday.”",
        "“It took ten years,” she said.",  # its own marks, not ““It took …
    ]
