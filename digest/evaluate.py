"""`digest eval`: every prompt x model x strategy on the same samples, measured one way.

    run_eval        samples + settings + the combinations -> one ``EvalReport``: per
                    combination an edition summarised exactly as ``digest run`` would
                    (digest.edition.summarise_edition: cache, re-asks, checks, floors), read
                    back item by item (``Item``) and counted (``Metrics``)
    save_report     the report as a dated JSON file under a folder (default ``eval/``)
    load_report     a saved report, for ``digest eval compare`` (digest.eval_report)

What is counted, per combination (article x language items):
- published, by origin: ``model`` (the model's summary), ``translation`` (of a checked
  model summary), ``extract translated`` (the model translated the extract floor),
  ``extract`` (the article's own sentences: not the model publishing) and
  ``source-language`` (another language's summary shown in place, labelled);
- failures: per item not published by the model as asked, which checks its last answer
  failed (or why it had none: cut off, not JSON, no verified summary to translate);
- claims supported: of the claims the model wrote in published items (origins model and
  translation), the share whose claim checks all said ok ("unverified" is not ok); a
  translated claim is as supported as the claim of the summary it translates;
- calls, tokens and seconds as recorded on the answers when they were paid for, so a
  re-run from the cache reports what the answers cost, not the cache's zero.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from digest.config import Settings
from digest.errors import InputError, UsageError, file_error, first_error
from digest.fsutil import write_json_atomic
from digest.models import Article, Claim, Digest, StoryResult

Notice = Callable[[str], None]
STRATEGIES = ("pivot", "direct")
ORIGINS = ("model", "translation", "extract translated", "extract", "source-language")
REPORT_VERSION = 1
_NOTE_REASON = re.compile(r"^(?:the model's summary failed|not verified in this language) \((.*)\)")


class ModelChoice(BaseModel):
    """One model to evaluate: a name (the endpoint's model, or a bundled model when no
    endpoint is set) or a GGUF file run locally; neither: what the settings say."""

    name: str | None = None
    file: Path | None = None

    @property
    def label(self) -> str:
        if self.file is not None:
            return self.file.name
        return self.name or "default"


class Combination(BaseModel):
    prompt: str  # name@version
    model: str  # the ModelChoice's label
    strategy: str

    @property
    def key(self) -> str:
        return f"{self.prompt} · {self.model} · {self.strategy}"


class Item(BaseModel):
    """One article in one language as a reader would get it, with what it cost."""

    article_id: str
    title: str
    lang: str
    status: str
    origin: str  # one of ORIGINS (withheld items: what was attempted)
    shown_lang: str | None = None
    failures: list[str] = []
    headline: str | None = None
    summary: str | None = None
    key_points: list[str] = []
    note: str | None = None  # why withheld, or why a floor is shown
    claims: int = 0
    supported: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False


class Metrics(BaseModel):
    items: int = 0
    published: int = 0
    origins: dict[str, int] = {}
    withheld: int = 0
    failures: dict[str, int] = {}
    claims: int = 0
    claims_supported: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: int = 0

    @property
    def published_share(self) -> float:
        return self.published / self.items if self.items else 0.0

    @property
    def supported_share(self) -> float | None:
        return self.claims_supported / self.claims if self.claims else None

    @property
    def seconds_per_published(self) -> float | None:
        return self.seconds / self.published if self.published else None


class ComboReport(BaseModel):
    combination: Combination
    model_id: str  # as the edition recorded it (local/<file stem>, or the endpoint's model)
    endpoint: str
    metrics: Metrics
    items: list[Item]


class SampleRef(BaseModel):
    id: str
    title: str
    source: str
    source_lang: str | None


class EvalReport(BaseModel):
    version: int = REPORT_VERSION
    created_at: datetime
    languages: list[str]
    samples: list[SampleRef]
    combos: list[ComboReport]
    shown: dict[str, str] = {}  # language -> the article whose outputs are shown as samples


def combinations(
    prompts: list[str], models: list[ModelChoice], strategies: list[str]
) -> list[tuple[Combination, ModelChoice]]:
    """Model-major order (a local model is loaded once per strategy and prompt)."""
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise UsageError(f"unknown strategy {strategy!r} (choose from: pivot, direct)")
    return [
        (Combination(prompt=prompt, model=choice.label, strategy=strategy), choice)
        for choice in models
        for strategy in strategies
        for prompt in prompts
    ]


def combination_settings(
    settings: Settings, choice: ModelChoice, prompt: str, strategy: str
) -> Settings:
    endpoint = settings.endpoint
    if choice.file is not None:
        endpoint = endpoint.model_copy(update={"model_file": choice.file})
    elif choice.name is not None:
        endpoint = endpoint.model_copy(update={"model": choice.name})
    # A translate prompt is compared the same way: it replaces the translate step, the
    # summarize prompt stays the configured one.
    field = "translate_prompt" if is_translate_prompt(settings, prompt) else "prompt"
    return settings.model_copy(update={field: prompt, "strategy": strategy, "endpoint": endpoint})


def is_translate_prompt(settings: Settings, prompt: str) -> bool:
    return prompt.partition("@")[0] == settings.translate_prompt.partition("@")[0]


def run_eval(
    samples: list[str],
    settings: Settings,
    *,
    prompts: list[str],
    models: list[ModelChoice],
    strategies: list[str],
    notice: Notice = lambda _m: None,
    on_combination: Callable[[int, int, Combination], None] | None = None,
) -> EvalReport:
    """Every combination on the samples in ``settings.languages``; a DigestError (bad
    prompt, missing model file, endpoint down) stops the evaluation before or as it happens."""
    from datetime import date

    from digest.edition import EditionPlan, load_specs, summarise_edition
    from digest.ingest.files import load_inputs
    from digest.languages import parse_languages

    languages = parse_languages(settings.languages)
    todo = combinations(prompts, models, strategies)
    for choice in models:
        if choice.file is not None and not choice.file.is_file():
            raise UsageError(f"model file not found: {choice.file}")
    # Every prompt is loaded (and so checked) before the first call is paid for.
    specs = {
        (combo.prompt, combo.strategy): load_specs(
            combination_settings(settings, choice, combo.prompt, combo.strategy)
        )
        for combo, choice in todo
    }
    loaded = load_inputs(samples, max_tokens=settings.max_article_tokens)
    for warning in loaded.warnings:
        notice(warning)
    reports: list[ComboReport] = []
    for index, (combo, choice) in enumerate(todo, 1):
        spec = specs[(combo.prompt, combo.strategy)]
        varied = spec.translate if is_translate_prompt(settings, combo.prompt) else spec.prompt
        combo = combo.model_copy(update={"prompt": varied.ref if varied else combo.prompt})
        if on_combination is not None:
            on_combination(index, len(todo), combo)
        plan = EditionPlan(
            articles=loaded.articles,
            languages=languages,
            prompt=spec.prompt,
            translate=spec.translate,
            verify=spec.verify,
            edition_date=date.today(),
        )
        own = combination_settings(settings, choice, combo.prompt, combo.strategy)
        digest = summarise_edition(plan, own, notice=notice)
        if choice.name is None and choice.file is None:
            combo = combo.model_copy(update={"model": digest.model})  # what "default" was
        items = read_items(digest)
        reports.append(
            ComboReport(
                combination=combo,
                model_id=digest.model,
                endpoint=digest.endpoint,
                metrics=measure(items, digest),
                items=items,
            )
        )
    return EvalReport(
        created_at=datetime.now().astimezone().replace(microsecond=0),
        languages=[lang.code for lang in languages],
        samples=[
            SampleRef(id=a.id, title=a.title, source=a.source, source_lang=a.source_lang)
            for a in loaded.articles
        ],
        combos=reports,
        shown=pick_shown(reports, [lang.code for lang in languages], loaded.articles),
    )


# --- reading an edition back -----------------------------------------------------------


def _base(lang: str | None) -> str:
    return (lang or "").split("-")[0].lower()


def _pivots(digest: Digest) -> dict[str, StoryResult]:
    """Each article's summary in its own language (the pivot translations rest on)."""
    found: dict[str, StoryResult] = {}
    langs = {a.id: _base(a.source_lang) for a in digest.articles}
    for result in [*digest.results, *digest.pivots]:
        if result.origin in ("model", "extract") and _base(result.lang) == langs[result.article_id]:
            found.setdefault(result.article_id, result)
    return found


def supported(claim: Claim) -> bool:
    return bool(claim.checks) and all(check.status == "ok" for check in claim.checks)


def _claims(result: StoryResult, pivot: StoryResult | None) -> tuple[int, int]:
    """(claims, supported) of a published summary the model wrote."""
    if result.summary is None:
        return 0, 0
    claims = result.summary.claims()
    if result.origin == "model":
        return len(claims), sum(supported(claim) for _, claim in claims)
    reference: dict[str, Claim] = dict(pivot.summary.claims()) if pivot and pivot.summary else {}
    return len(claims), sum(
        label in reference and supported(reference[label]) for label, _ in claims
    )


def failures(result: StoryResult) -> list[str]:
    """Why an item is not the model's own checked answer: the checks its last answer
    failed, else the reason it had none (the part before any parenthesis)."""
    if result.status == "published" and result.origin in ("model", "translation"):
        return []
    checks = result.replaced if result.origin == "extract" else result.checks
    failed = sorted({c.name for c in checks if c.status == "fail"})
    if failed:
        return failed
    reason = result.reason
    if reason is None and result.note:
        match = _NOTE_REASON.match(result.note)
        reason = match.group(1) if match else None
    if not reason:
        return ["unknown"]
    if reason.startswith("no verified "):
        return ["no verified summary to translate"]
    return [reason.split(" (")[0].removeprefix("failed checks: ")[:48]]


def _origin(result: StoryResult, pivot: StoryResult | None) -> str:
    if result.origin == "translation" and pivot is not None and pivot.origin == "extract":
        return "extract translated"
    return result.origin


def read_items(digest: Digest) -> list[Item]:
    titles = {a.id: a.title for a in digest.articles}
    pivots = _pivots(digest)
    items: list[Item] = []
    for result in digest.results:
        pivot = pivots.get(result.article_id)
        published = result.status == "published"
        written = published and result.origin in ("model", "translation")
        claims, ok = _claims(result, pivot) if written else (0, 0)
        items.append(
            Item(
                article_id=result.article_id,
                title=titles.get(result.article_id, "?"),
                lang=result.lang,
                status=result.status,
                origin=_origin(result, pivot),
                shown_lang=result.shown_lang,
                failures=failures(result),
                note=result.reason if not published else result.note,
                claims=claims,
                supported=ok,
                calls=result.usage.calls,
                prompt_tokens=result.usage.prompt_tokens,
                completion_tokens=result.usage.completion_tokens,
                seconds=result.seconds,
                cached=result.cached,
                # a withheld answer's text too: what the failures were about
                headline=result.summary.headline if result.summary else None,
                summary=result.summary.summary if result.summary else None,
                key_points=result.summary.key_points if result.summary else [],
            )
        )
    return items


def measure(items: list[Item], digest: Digest) -> Metrics:
    """The counts of one combination. Pivots the edition did not show (an article in a
    language not asked for) cost calls and seconds too, and are counted there."""
    published = [i for i in items if i.status == "published"]
    failed: Counter[str] = Counter(f for i in items for f in i.failures)
    extra = digest.pivots
    return Metrics(
        items=len(items),
        published=len(published),
        origins={o: sum(i.origin == o for i in published) for o in ORIGINS},
        withheld=len(items) - len(published),
        failures=dict(failed.most_common()),
        claims=sum(i.claims for i in items),
        claims_supported=sum(i.supported for i in items),
        calls=sum(i.calls for i in items) + sum(p.usage.calls for p in extra),
        prompt_tokens=sum(i.prompt_tokens for i in items)
        + sum(p.usage.prompt_tokens for p in extra),
        completion_tokens=sum(i.completion_tokens for i in items)
        + sum(p.usage.completion_tokens for p in extra),
        seconds=round(sum(i.seconds for i in items) + sum(p.seconds for p in extra), 3),
        cached=sum(i.cached for i in items),
    )


def pick_shown(
    reports: list[ComboReport], languages: list[str], articles: list[Article]
) -> dict[str, str]:
    """Per language, one article whose outputs every combination shows side by side: the
    first the most combinations published as the model's own text in that language."""
    shown: dict[str, str] = {}
    for lang in languages:
        votes: Counter[str] = Counter(
            item.article_id
            for report in reports
            for item in report.items
            if item.lang == lang
            and item.status == "published"
            and item.origin != "extract"
            and item.origin != "source-language"
        )
        order = [a.id for a in articles]
        best = max(order, key=lambda a: (votes[a], -order.index(a)), default=None)
        if best is not None:
            shown[lang] = best
    return shown


# --- files -----------------------------------------------------------------------------


def save_report(report: EvalReport, folder: Path) -> Path:
    """A dated file under ``folder`` (never over an earlier one), written atomically."""
    stamp = report.created_at.strftime("%Y-%m-%dT%H%M%S")
    path = folder / f"eval-{stamp}.json"
    counter = 2
    while path.exists():
        path = folder / f"eval-{stamp}-{counter}.json"
        counter += 1
    return write_json_atomic(path, report.model_dump(mode="json"))


def write_report(report: EvalReport, path: Path) -> Path:
    return write_json_atomic(path, report.model_dump(mode="json"))


def load_report(path: Path) -> EvalReport:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise file_error(path, exc) from None
    try:
        return EvalReport.model_validate_json(text)
    except ValidationError as exc:
        raise InputError(f"{path} is not a digest eval report: {first_error(exc)}") from None
