"""`digest eval`: every prompt x model x strategy on samples, against the loopback server;
the table, the JSON, the dated file, a cached re-run, and `digest eval compare`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import invoke
from support.openai_server import FakeOpenAI, Fault
from support.paths import REPO

SEED_EN = str(REPO / "seeds" / "000_e2a5421fd2ec2f6f.txt")
SEED_TR = str(REPO / "seeds" / "003_kiyikent_kutuphane_tr.txt")


def saved(folder: Path) -> list[Path]:
    return sorted(folder.glob("eval-*.json"))


def test_every_combination_is_measured_and_saved(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = [
        "eval", SEED_EN, SEED_TR, "--lang", "en,tr",
        "--prompt", "summarize@1", "--prompt", "summarize@2",
        "--strategy", "pivot", "--strategy", "direct", "--json", "report.json",
    ]  # fmt: skip
    result = invoke(capsys, *args)

    assert result.code == 0, result.err
    header, *rows = result.out.split("\n\n")[1].splitlines()
    for column in ("published", "model", "transl", "extract", "src-lang", "claims ok", "calls"):
        assert column in header
    assert [r.split()[:3] for r in rows] == [
        ["summarize@1", "fake-model", "pivot"],
        ["summarize@2", "fake-model", "pivot"],
        ["summarize@1", "fake-model", "direct"],
        ["summarize@2", "fake-model", "direct"],
    ]
    assert all("4/4 100%" in r for r in rows)
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert report["languages"] == ["en", "tr"] and len(report["samples"]) == 2
    pivot = report["combos"][1]["metrics"]  # summarize@2, pivot
    assert pivot["origins"]["model"] == 2 and pivot["origins"]["translation"] == 2
    assert pivot["claims"] > 0 and pivot["claims_supported"] == pivot["claims"]
    assert pivot["calls"] == 4 and pivot["prompt_tokens"] > 0 and pivot["seconds"] > 0
    # summarize@1 cites no sentences: its claims are written but never supported.
    assert report["combos"][0]["metrics"]["claims_supported"] == 0
    # Per language, one sample of each combination, from the same article.
    assert "== summarize@2 · fake-model · pivot" in result.out
    assert "[tr] " in result.out and "published (translation)" in result.out
    [dated] = saved(tmp_path / "eval")
    assert json.loads(dated.read_text("utf-8")) == report
    assert "digest eval compare" in result.err


def test_a_translate_prompt_is_compared_on_the_translation_step(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["eval", SEED_EN, "--lang", "en,tr", "--prompt", "translate@1", "--json", "r.json"]
    result = invoke(capsys, *args)

    assert result.code == 0, result.err
    [combo] = json.loads((tmp_path / "r.json").read_text("utf-8"))["combos"]
    assert combo["combination"]["prompt"] == "translate@1"
    assert combo["metrics"]["origins"]["translation"] == 1
    translations = [c for c in endpoint_env.requests if "Translate" in json.dumps(c)]
    assert translations, "the translate prompt was never sent"
    assert "== translate@1 · fake-model · pivot" in result.out


def test_a_cached_rerun_is_free_and_reports_what_the_answers_cost(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["eval", "run", SEED_EN, "--lang", "en,de", "--json"]
    assert invoke(capsys, *args, "first.json").code == 0
    calls = endpoint_env.chat_calls
    assert invoke(capsys, *args, "second.json").code == 0
    assert endpoint_env.chat_calls == calls  # the cache answered everything

    first, second = (
        json.loads((tmp_path / name).read_text("utf-8"))["combos"][0]["metrics"]
        for name in ("first.json", "second.json")
    )
    assert second["cached"] == second["items"] == 2
    for figure in ("calls", "prompt_tokens", "completion_tokens", "seconds", "published"):
        assert second[figure] == first[figure], figure
    assert len(saved(tmp_path / "eval")) == 2  # two dated files, neither over the other


def test_floors_are_counted_apart_from_the_model_and_failures_per_check(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.set_default(Fault.hallucinate())  # invented numbers and names, every time
    result = invoke(capsys, "eval", SEED_EN, "--lang", "en,tr", "--json", "r.json")

    assert result.code == 0, result.err
    [combo] = json.loads((tmp_path / "r.json").read_text("utf-8"))["combos"]
    metrics = combo["metrics"]
    # en: the model's summary failed, the extract is shown; tr: the translation of that
    # extract failed too, the English extract is shown in its place.
    assert metrics["origins"] == {
        "model": 0,
        "translation": 0,
        "extract translated": 0,
        "extract": 1,
        "source-language": 1,
    }
    assert metrics["published"] == 2 and metrics["claims"] == 0
    assert metrics["failures"]["numbers"] == 2
    en, tr = combo["items"]
    assert "numbers" in en["failures"] and en["origin"] == "extract"
    assert tr["origin"] == "source-language" and tr["shown_lang"] == "en"
    assert "failures per check" in result.out and "numbers 2" in result.out
    assert "published (extract)" in result.out


def test_compare_prints_the_differences_per_combination(
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    common = ["eval", SEED_EN, "--lang", "en,tr", "--no-cache"]
    assert invoke(capsys, *common, "--json", "a.json").code == 0
    fake_openai.set_default(Fault.hallucinate())
    assert invoke(capsys, *common, "--strategy", "pivot", "--strategy", "direct",
                  "--json", "b.json").code == 0  # fmt: skip

    result = invoke(capsys, "eval", "compare", "a.json", "b.json")

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("A = a.json")
    pivot = lines.index("summarize@2 · gpt-4o-mini · pivot:")
    changes = lines[pivot + 1 : lines.index("", pivot)]
    assert "  published: model: 1 -> 0 (-1)" in changes
    assert "  published: extract: 0 -> 1 (+1)" in changes
    assert any(line.startswith("  failures: numbers: 0 -> 2") for line in changes)
    assert "summarize@2 · gpt-4o-mini · direct: only in B" in lines

    same = invoke(capsys, "eval", "compare", "a.json", "a.json")
    assert "summarize@2 · gpt-4o-mini · pivot: no change" in same.out


def test_bad_input_is_one_line_before_anything_is_asked(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cases = {
        ("--strategy", "sideways"): "unknown strategy 'sideways'",
        ("--prompt", "summarize@9"): "summarize@9",
        ("--model-file", "missing.gguf"): "model file not found: missing.gguf",
    }
    for extra, message in cases.items():
        result = invoke(capsys, "eval", SEED_EN, "--lang", "en", *extra)
        assert result.code == 2, result
        [line] = result.error_lines()
        assert message in line
    assert endpoint_env.chat_calls == 0

    (tmp_path / "junk.json").write_text('{"what": 1}', "utf-8")
    result = invoke(capsys, "eval", "compare", "junk.json", "junk.json")
    assert result.code == 2 and "is not a digest eval report" in result.err
