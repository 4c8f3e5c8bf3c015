"""The fake OpenAI server, driven by the real openai client over loopback."""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import py3langid
import pytest
from support.openai_server import CANNED, FakeOpenAI, Fault, canned_answer, requested_language

NAMES = {"en": "English", "tr": "Turkish", "ar": "Arabic", "de": "German", "pt-BR": "Portuguese"}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def make_client(server: FakeOpenAI, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=timeout)


@pytest.fixture
def client(fake: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with make_client(fake) as c:
        yield c


def messages(lang: str = "en", system: str = "Answer in JSON.") -> list[Any]:
    name = NAMES.get(lang, lang)
    user = f"Article:\nSome text.\n\nTarget language: {name} ({lang})"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def summary_format() -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "summary", "schema": {}}}


def ask(client: openai.OpenAI, lang: str = "en", **kwargs: Any) -> Any:
    kwargs.setdefault("response_format", summary_format())
    return client.chat.completions.create(model="m", messages=messages(lang), **kwargs)


def content_of(completion: Any) -> dict[str, Any]:
    data = json.loads(completion.choices[0].message.content)
    assert isinstance(data, dict)
    return data


def texts(answer: dict[str, Any]) -> list[str]:
    points: list[str] = answer.get("key_points", [])
    return [v for v in answer.values() if isinstance(v, str)] + points


# ---- canned content --------------------------------------------------------------------


@pytest.mark.parametrize("lang", sorted(CANNED))
@pytest.mark.parametrize("kind", ["summary", "brief"])
def test_canned_texts_are_identified_and_gate_safe(lang: str, kind: str) -> None:
    for text in texts(canned_answer(kind, lang)):
        assert py3langid.classify(text)[0] == lang, text
        assert not any(ch.isdigit() for ch in text), text
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            words = re.findall(r"\w+", sentence)
            assert not any(w[0].isupper() for w in words[1:]), sentence


def test_canned_answers_differ_per_language() -> None:
    headlines = {canned_answer("summary", lang)["headline"] for lang in CANNED}
    assert len(headlines) == len(CANNED)


def test_requested_language_takes_code_in_last_parentheses() -> None:
    body = {
        "messages": [{"role": "user", "content": "x\nTarget language: Portuguese (Brazil) (pt-BR)"}]
    }
    assert requested_language(body) == "pt-BR"
    assert requested_language({"messages": [{"role": "user", "content": "no line"}]}) == "en"


# ---- normal answers ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "tr", "ar", "de", "pt-BR"])
def test_summary_in_requested_language(client: openai.OpenAI, lang: str) -> None:
    completion = ask(client, lang)
    answer = content_of(completion)
    assert set(answer) == {"headline", "summary", "key_points"}
    assert len(answer["key_points"]) == 3
    assert py3langid.classify(" ".join(texts(answer)))[0] == lang.split("-")[0]
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_answers_are_deterministic(client: openai.OpenAI) -> None:
    first, second = ask(client, "tr"), ask(client, "tr")
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.usage == second.usage


def test_brief_kind_from_schema_name_json_object_schema_or_prompt(client: openai.OpenAI) -> None:
    by_name = {"type": "json_schema", "json_schema": {"name": "brief", "schema": {}}}
    by_schema = {"type": "json_object", "schema": {"properties": {"overview": {"type": "string"}}}}
    assert set(content_of(ask(client, response_format=by_name))) == {"overview"}
    assert set(content_of(ask(client, response_format=by_schema))) == {"overview"}
    prompt = messages(system='Reply as {"overview": "two or three sentences"}.')
    plain = client.chat.completions.create(model="m", messages=prompt)
    assert set(content_of(plain)) == {"overview"}
    prose = messages(system="Give an overview of the article as JSON.")
    summary = client.chat.completions.create(model="m", messages=prose)
    assert set(content_of(summary)) == {"headline", "summary", "key_points"}


def test_requests_are_recorded(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    ask(client, "de")
    ask(client, "ar")
    assert fake.chat_calls == 2
    assert fake.requests[1]["messages"][-1]["content"].endswith("(ar)")
    assert fake.requests[0]["response_format"]["json_schema"]["name"] == "summary"


def test_models_endpoint(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["fake-model"]


def test_unknown_path_is_404_json(fake: FakeOpenAI) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(fake.base_url + "/nope", timeout=5)
    with info.value as response:
        assert response.code == 404
        assert "error" in json.loads(response.read())


# ---- faults ------------------------------------------------------------------------------


def test_rate_limit_with_retry_after(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(Fault.status(429, retry_after=2))
    with pytest.raises(openai.RateLimitError) as info:
        ask(client)
    assert info.value.response.headers["retry-after"] == "2"
    assert content_of(ask(client))  # the queue held one fault only


@pytest.mark.parametrize("code", [400, 408, 500, 503])
def test_status_faults(fake: FakeOpenAI, client: openai.OpenAI, code: int) -> None:
    fake.enqueue(Fault.status(code))
    with pytest.raises(openai.APIStatusError) as info:
        ask(client)
    assert info.value.status_code == code


def test_faults_are_fifo_then_default(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(Fault.raw("first"), Fault.raw("second"))
    fake.set_default(Fault.empty())
    got = [ask(client).choices[0].message.content for _ in range(3)]
    assert got == ["first", "second", ""]
    fake.set_default(None)
    assert content_of(ask(client))


def test_reject_json_schema() -> None:
    with FakeOpenAI(reject_json_schema=True) as server, make_client(server) as c:
        with pytest.raises(openai.BadRequestError):
            ask(c)
        assert content_of(ask(c, response_format={"type": "json_object"}))
        with_schema = {"type": "json_object", "schema": {"type": "object"}}
        assert content_of(ask(c, response_format=with_schema))
        plain = c.chat.completions.create(model="m", messages=messages())
        assert content_of(plain)


def test_truncated(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(Fault.truncated())
    completion = ask(client)
    assert completion.choices[0].finish_reason == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(completion.choices[0].message.content or "")


def test_hang_times_out_then_server_recovers(fake: FakeOpenAI) -> None:
    fake.enqueue(Fault.hang(30))
    with make_client(fake, timeout=0.2) as short:
        with pytest.raises(openai.APITimeoutError):
            ask(short)
    with make_client(fake) as normal:
        assert content_of(ask(normal))


def test_drop_is_connection_error(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(Fault.drop())
    with pytest.raises(openai.APIConnectionError) as info:
        ask(client)
    assert not isinstance(info.value, openai.APITimeoutError)


def test_refusal_in_field_and_in_content(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(Fault.refusal(), Fault.refusal(in_field=False))
    field = ask(client).choices[0].message
    assert field.content is None and field.refusal and "sorry" in field.refusal
    content = ask(client).choices[0].message
    assert content.refusal is None and content.content and "sorry" in content.content


def test_wrong_language(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(Fault.wrong_language("de"))
    answer = content_of(ask(client, "en"))
    assert set(answer) == {"headline", "summary", "key_points"}
    assert py3langid.classify(answer["summary"])[0] == "de"


def test_hostile(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(Fault.hostile())
    answer = content_of(ask(client, "tr"))
    joined = " ".join(texts(answer))
    for needle in ("<script>alert(1)</script>", "onerror=", "](javascript:alert(1))"):
        assert needle in joined
    assert len(answer["key_points"]) == 3


def test_hallucinate_keeps_language_adds_facts(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.set_default(Fault.hallucinate())
    for lang in sorted(CANNED):
        answer = content_of(ask(client, lang))
        assert "2018" in answer["summary"] and "9,999,999" in answer["summary"]
        assert "Okonkwo-Vance" in answer["key_points"][0]
        for text in texts(answer):
            assert py3langid.classify(text)[0] == lang, text


def test_garbage_http(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue(Fault.garbage_http(), Fault.garbage_http("application/json"))
    # With text/html the openai client returns the body as a str instead of a completion.
    assert isinstance(ask(client), str)
    with pytest.raises(json.JSONDecodeError):
        ask(client)


# ---- concurrency and shutdown ------------------------------------------------------------


def run_parallel(server: FakeOpenAI, count: int) -> None:
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with make_client(server) as c:
                content_of(ask(c))
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_requests_overlap_under_latency() -> None:
    with FakeOpenAI(latency=0.3) as server:
        run_parallel(server, 8)
        assert server.chat_calls == 8
        assert server.max_in_flight >= 2


def test_sequential_requests_do_not_overlap() -> None:
    with FakeOpenAI(latency=0.05) as server, make_client(server) as c:
        for _ in range(3):
            ask(c)
        assert server.max_in_flight == 1


def test_stop_ends_threads_and_closes_port() -> None:
    before = set(threading.enumerate())
    server = FakeOpenAI().start()
    server.enqueue(Fault.hang(30))
    with make_client(server, timeout=0.2) as c, pytest.raises(openai.APITimeoutError):
        ask(c)
    server.stop()
    assert set(threading.enumerate()) <= before
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.base_url + "/models", timeout=2)


# ---- files and batches -------------------------------------------------------------------


def batch_input(count: int, lang: str = "tr") -> bytes:
    lines = []
    for i in range(count):
        body = {"model": "m", "messages": messages(lang), "response_format": summary_format()}
        line = {"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
        lines.append(json.dumps(line, ensure_ascii=False) + "\n")
    return "".join(lines).encode()


def run_batch(client: openai.OpenAI, data: bytes) -> Any:
    upload = client.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
    batch = client.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "validating"
    assert client.batches.retrieve(batch.id).status == "in_progress"
    return client.batches.retrieve(batch.id)


def read_lines(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def test_file_upload_keeps_exact_bytes(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    data = batch_input(2, "ar")
    upload = client.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
    assert fake.files[upload.id].content == data
    assert fake.files[upload.id].purpose == "batch"
    assert client.files.content(upload.id).content == data


def test_batch_complete(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    batch = run_batch(client, batch_input(4))
    assert batch.status == "completed"
    assert batch.error_file_id is None
    assert batch.request_counts.completed == 4
    out = read_lines(client, batch.output_file_id)
    assert [line["custom_id"] for line in out] == ["c0", "c1", "c2", "c3"]
    for line in out:
        assert line["error"] is None and line["response"]["status_code"] == 200
        content = line["response"]["body"]["choices"][0]["message"]["content"]
        assert py3langid.classify(json.loads(content)["summary"])[0] == "tr"
    assert fake.batches_created == 1
    assert fake.chat_calls == 0 and len(fake.batch_requests) == 4


def test_batch_partial_fail() -> None:
    with FakeOpenAI(batch_mode="partial_fail") as server, make_client(server) as c:
        batch = run_batch(c, batch_input(6))
        assert batch.status == "completed"
        assert (batch.request_counts.completed, batch.request_counts.failed) == (4, 2)
        errors = read_lines(c, batch.error_file_id)
        assert [e["custom_id"] for e in errors] == ["c2", "c5"]
        assert all(e["response"] is None and e["error"]["message"] for e in errors)
        assert len(read_lines(c, batch.output_file_id)) == 4


def test_batch_expire() -> None:
    with FakeOpenAI(batch_mode="expire") as server, make_client(server) as c:
        batch = run_batch(c, batch_input(5))
        assert batch.status == "expired" and batch.expired_at is not None
        done = [line["custom_id"] for line in read_lines(c, batch.output_file_id)]
        expired = read_lines(c, batch.error_file_id)
        assert done == ["c0", "c1"]
        assert [e["custom_id"] for e in expired] == ["c2", "c3", "c4"]
        assert {e["error"]["code"] for e in expired} == {"batch_expired"}


def test_batch_rejected_lines_go_to_error_file() -> None:
    with FakeOpenAI(reject_json_schema=True) as server, make_client(server) as c:
        batch = run_batch(c, batch_input(2))
        errors = read_lines(c, batch.error_file_id)
        assert [e["response"]["status_code"] for e in errors] == [400, 400]
        assert batch.output_file_id is None


def test_batch_cancel(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    upload = client.files.create(file=("in.jsonl", io.BytesIO(batch_input(2))), purpose="batch")
    batch = client.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert client.batches.cancel(batch.id).status == "cancelling"
    assert client.batches.retrieve(batch.id).status == "cancelled"
    assert not fake.batch_requests


def test_batches_unsupported() -> None:
    with FakeOpenAI(batches_supported=False) as server, make_client(server) as c:
        with pytest.raises(openai.NotFoundError):
            c.batches.create(
                input_file_id="file-x", endpoint="/v1/chat/completions", completion_window="24h"
            )
        with pytest.raises(openai.NotFoundError):
            c.files.create(file=("in.jsonl", io.BytesIO(b"{}\n")), purpose="batch")
        assert server.batches_created == 0
