"""Faithfulness benchmark: do the claim checks catch distorted claims, and pass faithful ones?

    python bench/faithfulness.py [--articles DIR ...] [--json FILE] [--no-results]

Reads every ``.txt`` article of the folders (default: seeds/ and bench/samples/; the first
line is the title), splits each body into numbered sentences, and takes every sentence of
>= 5 words as a faithful claim citing itself. Faithful variants that must pass: the claim as
is, with its last comma clause dropped, and with its first clause moved to the end. Each
claim is then distorted (``perturbations.py``): a changed number, a name swapped for another
name of the article that the cited sentence lacks, a negation added or removed, two named
participants swapped, an unsupported sentence appended (another article's, same language;
else an uncited, non-adjacent sentence of the same article), the claim citing another
sentence. A distortion that cannot be made for a claim is skipped, not counted. A claim
counts as caught when any claim check fails. Appends a section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import BENCH, REPO, SEEDS, append_results, table  # noqa: E402
from perturbations import FAITHFUL, PERTURBATIONS, Article  # noqa: E402

from digest.checks.claims import SourceSentences, check_claim  # noqa: E402
from digest.checks.text import word_count  # noqa: E402
from digest.errors import DigestError  # noqa: E402
from digest.ingest.files import read_file  # noqa: E402
from digest.ingest.sentences import split_sentences  # noqa: E402
from digest.langid import identifier  # noqa: E402

TARGETS = {
    "number": 0.98,
    "name": 0.98,
    "citation": 0.90,
    "unsupported": 0.90,
    "negation": 0.80,
    "participants": 0.50,
    "added clause": 0.0,  # no target: reported to show the limit of word coverage
}
FALSE_POSITIVE_MAX = 0.05
MIN_CLAIM_WORDS = 5


@dataclass
class Tally:
    caught: int = 0
    total: int = 0

    def rate(self) -> float:
        return self.caught / self.total if self.total else float("nan")


def load_articles(folders: list[Path]) -> list[Article]:
    ident = identifier()
    articles: list[Article] = []
    for folder in folders:
        for path in sorted(folder.glob("*.txt")):
            try:
                article = read_file(path, max_tokens=100_000)
            except DigestError as error:  # empty, binary: not an article
                print(f"skipped {path.name}: {error}", file=sys.stderr)
                continue
            lang = article.source_lang or ident.detect(article.text) or "und"
            sentences = split_sentences(article.text, lang)
            if sentences:
                articles.append(Article(path.name, lang, sentences))
    return articles


def _failed(
    claim: str, evidence: list[int], source: SourceSentences, same_language: bool = True
) -> list[str]:
    checks = check_claim(claim, evidence, source, same_language=same_language)
    return [f"{c.name}: {c.detail}" for c in checks if c.status == "fail"]


def run(folders: list[Path], verbose: bool, same_language: bool = True) -> dict[str, object]:
    """``same_language=False``: the checks a claim gets when it is written in another
    language than its article (strategy direct), on the same claims."""
    articles = load_articles(folders)
    detection: dict[str, Tally] = defaultdict(Tally)
    by_lang: dict[tuple[str, str], Tally] = defaultdict(Tally)
    faithful = Tally()
    faithful_lang: dict[str, Tally] = defaultdict(Tally)
    false_positives: list[str] = []
    misses: dict[str, list[str]] = defaultdict(list)
    claims = 0
    for article in articles:
        source = SourceSentences(article.sentences, article.lang)
        for i, sentence in enumerate(article.sentences, 1):
            if word_count(sentence) < MIN_CLAIM_WORDS:
                continue
            claims += 1
            for name, make in FAITHFUL.items():
                variant = make(sentence, article)
                if variant is None:
                    continue
                failed = _failed(variant, [i], source, same_language)
                faithful.total += 1
                faithful_lang[article.lang].total += 1
                if failed:
                    faithful.caught += 1
                    faithful_lang[article.lang].caught += 1
                    false_positives.append(f"{article.name} [{i}] {name}: {variant!r} {failed}")
            for kind, perturb in PERTURBATIONS.items():
                # one generator per article, sentence and kind: adding a kind moves no other
                key = f"{article.name}|{i}|{kind}".encode()
                rng = random.Random(int(hashlib.sha256(key).hexdigest()[:8], 16))
                made = perturb(sentence, i, article, articles, source, rng)
                if made is None:
                    continue
                claim, evidence = made
                failed = _failed(claim, evidence, source, same_language)
                detection[kind].total += 1
                by_lang[(kind, article.lang)].total += 1
                if failed:
                    detection[kind].caught += 1
                    by_lang[(kind, article.lang)].caught += 1
                else:
                    misses[kind].append(f"{article.name} [{i}] {evidence}: {claim!r}")
    if verbose:
        for line in false_positives:
            print("FALSE POSITIVE", line)
        for kind, lines in misses.items():
            for line in lines:
                print(f"MISSED {kind}", line)
    languages = sorted({a.lang for a in articles})
    return {
        "detection": {k: detection[k].rate() for k in PERTURBATIONS if detection[k].total},
        "false_positive": faithful.rate(),
        "claims": claims,
        "languages": languages,
        "_tallies": (detection, by_lang, faithful, faithful_lang, len(articles)),
    }


def report(result: dict[str, object], folders: list[Path], seconds: float, save: bool) -> None:
    detection, by_lang, faithful, faithful_lang, n_articles = result["_tallies"]  # type: ignore[misc]
    languages: list[str] = result["languages"]  # type: ignore[assignment]
    rows = []
    for kind, target in TARGETS.items():
        tally = detection.get(kind, Tally())
        if not tally.total:  # no claim allowed this distortion: nothing to say
            rows.append([kind, 0, 0, "n/a", target, "n/a"])
            continue
        ok = "" if not target else "yes" if tally.rate() >= target else "NO"
        rows.append([kind, tally.total, tally.caught, round(tally.rate(), 3), target, ok])
    fp_ok = "yes" if faithful.rate() <= FALSE_POSITIVE_MAX else "NO"
    rows.append(
        ["false positive (faithful)", faithful.total, faithful.caught,
         round(faithful.rate(), 3), f"<= {FALSE_POSITIVE_MAX}", fp_ok]
    )  # fmt: skip
    main = table(["perturbation", "claims", "caught", "rate", "target", "met"], rows)
    lang_rows = []
    for lang in languages:
        cells: list[object] = [lang]
        for kind in TARGETS:
            tally = by_lang.get((kind, lang), Tally())
            cells.append(f"{tally.rate():.2f} ({tally.total})" if tally.total else "n/a")
        fp = faithful_lang.get(lang, Tally())
        cells.append(f"{fp.rate():.2f} ({fp.total})" if fp.total else "n/a")
        lang_rows.append(cells)
    per_lang = table(["lang", *TARGETS, "false positive"], lang_rows)
    body = (
        f"{main}\n\nPer language (rate, claims):\n\n{per_lang}\n\n"
        f"- articles: {n_articles}, claims: {result['claims']}, languages: {', '.join(languages)}"
        f", wall {seconds:.1f} s\n"
    )
    print(body)
    if save:
        shown = [str(f.resolve().relative_to(REPO)) if f.resolve().is_relative_to(REPO) else str(f)
                 for f in folders]  # fmt: skip
        params = {"articles": "+".join(shown), "claims": result["claims"]}
        append_results("faithfulness", params, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, action="append", help="folder of .txt articles")
    parser.add_argument("--json", type=Path, help="write the rates as JSON here")
    parser.add_argument("--no-results", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--verbose", action="store_true", help="print misses and false positives")
    parser.add_argument("--quick", action="store_true", help="same run (it takes seconds)")
    args = parser.parse_args()
    folders = args.articles or [SEEDS, BENCH / "samples"]
    started = time.perf_counter()
    result = run(folders, args.verbose)
    seconds = time.perf_counter() - started
    report(result, folders, seconds, save=not args.no_results)
    if args.json:
        public = {k: v for k, v in result.items() if not k.startswith("_")}
        args.json.write_text(json.dumps(public, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
