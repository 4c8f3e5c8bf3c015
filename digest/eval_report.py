"""`digest eval` as text: the table, the failures, one sample per language, and the
differences between two saved evaluations (`digest eval compare`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from digest.evaluate import ORIGINS, ComboReport, EvalReport, Item, Metrics

SHORT = {
    "model": "model",
    "translation": "transl",
    "extract translated": "extr+tr",
    "extract": "extract",
    "source-language": "src-lang",
}


def columns(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Plain aligned columns: text left, everything else right."""
    widths = [max(len(str(v)) for v in col) for col in zip(headers, *rows, strict=True)]
    left = [all(not _numeric(row[i]) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        cells = [
            v.ljust(w) if is_left else v.rjust(w)
            for v, w, is_left in zip(values, widths, left, strict=True)
        ]
        return "  ".join(cells).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def _numeric(value: str) -> bool:
    return bool(value) and (value[0].isdigit() or value in ("-", "n/a"))


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def claims_cell(m: Metrics) -> str:
    if not m.claims:
        return "-"
    if not m.claims_supported and m.claims:
        return f"0% (0/{m.claims})"
    return f"{_share(m.claims_supported, m.claims)} ({m.claims_supported}/{m.claims})"


def per_published(m: Metrics) -> str:
    value = m.seconds_per_published
    return "-" if value is None else f"{value:.1f}"


def table_lines(report: EvalReport) -> list[str]:
    headers = [
        "prompt", "model", "strategy", "published", *(SHORT[o] for o in ORIGINS), "withheld",
        "claims ok", "calls", "tokens in/out", "s/published",
    ]  # fmt: skip
    rows = []
    for combo in report.combos:
        c, m = combo.combination, combo.metrics
        rows.append(
            [c.prompt, c.model, c.strategy,
             f"{m.published}/{m.items} {_share(m.published, m.items)}",
             *(str(m.origins.get(o, 0)) for o in ORIGINS), str(m.withheld),
             claims_cell(m), str(m.calls), f"{m.prompt_tokens}/{m.completion_tokens}",
             per_published(m)]
        )  # fmt: skip
    return columns(headers, rows)


def failure_lines(report: EvalReport) -> list[str]:
    lines = []
    for combo in report.combos:
        failed = combo.metrics.failures
        text = ", ".join(f"{name} {count}" for name, count in failed.items()) or "none"
        lines.append(f"  {combo.combination.key}: {text}")
    return lines


def _item_lines(item: Item) -> list[str]:
    shown = f", shown in {item.shown_lang}" if item.shown_lang else ""
    head = f"{item.status} ({item.origin}{shown})"
    if item.headline is None or item.status != "published":
        return [f"{head}: {item.note or ', '.join(item.failures)}"]
    lines = [f"{head}: {item.headline}", f"    {item.summary}"]
    lines += [f"    - {point}" for point in item.key_points]
    return lines


def sample_lines(report: EvalReport, combo: ComboReport) -> list[str]:
    """One output per language of one combination: the article ``report.shown`` picked."""
    titles = {s.id: s.title for s in report.samples}
    lines = []
    for lang in report.languages:
        article = report.shown.get(lang)
        item = next((i for i in combo.items if i.lang == lang and i.article_id == article), None)
        if item is None:
            continue
        first, *rest = _item_lines(item)
        lines.append(f"[{lang}] {titles.get(item.article_id, '?')[:70]}")
        lines += [f"  {first}", *(f"  {line}" for line in rest)]
    return lines


def report_text(report: EvalReport) -> str:
    """The table, failures per check, and per language one sample of every combination."""
    lines = [
        f"digest eval: {len(report.samples)} sample(s) x {len(report.languages)} language(s) "
        f"({', '.join(report.languages)}), {len(report.combos)} combination(s)",
        "",
        *table_lines(report),
        "",
        "published by origin: model = the model's summary; transl = translation of a checked "
        "model summary; extr+tr = translation of the extract; extract = the article's own "
        "sentences; src-lang = the article-language summary in place",
        "claims ok = claims written by the model (model, transl) whose claim checks all "
        "passed; s/published = recorded seconds of every answer / published items",
        "",
        "failures per check (items whose last answer failed it):",
        *failure_lines(report),
    ]
    for combo in report.combos:
        lines += ["", f"== {combo.combination.key}", *sample_lines(report, combo)]
    return "\n".join(lines)


# --- compare -----------------------------------------------------------------------------

Getter = Callable[[Metrics], float | int | None]
FIGURES: list[tuple[str, Getter, str]] = [
    ("published", lambda m: m.published_share, "share"),
    *(
        (f"published: {origin}", (lambda m, o=origin: m.origins.get(o, 0)), "count")
        for origin in ORIGINS
    ),
    ("withheld", lambda m: m.withheld, "count"),
    ("claims supported", lambda m: m.supported_share, "share"),
    ("LLM calls", lambda m: m.calls, "count"),
    ("tokens in", lambda m: m.prompt_tokens, "count"),
    ("tokens out", lambda m: m.completion_tokens, "count"),
    ("s/published", lambda m: m.seconds_per_published, "seconds"),
]


def _show(value: float | int | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "share":
        return f"{value:.0%}"
    if kind == "seconds":
        return f"{value:.1f}"
    return str(value)


def _delta(old: float | int | None, new: float | int | None, kind: str) -> str:
    if old is None or new is None:
        return ""
    diff = new - old
    if kind == "share":
        return f" ({diff * 100:+.0f} pt)"
    if kind == "seconds":
        return f" ({diff:+.1f})"
    return f" ({diff:+d})" if isinstance(diff, int) else f" ({diff:+})"


def _differences(a: Metrics, b: Metrics) -> list[str]:
    lines = []
    for name, get, kind in FIGURES:
        old, new = get(a), get(b)
        if _show(old, kind) != _show(new, kind):
            lines.append(
                f"  {name}: {_show(old, kind)} -> {_show(new, kind)}{_delta(old, new, kind)}"
            )
    for check in sorted(set(a.failures) | set(b.failures)):
        old_n, new_n = a.failures.get(check, 0), b.failures.get(check, 0)
        if old_n != new_n:
            lines.append(f"  failures: {check}: {old_n} -> {new_n} ({new_n - old_n:+d})")
    return lines


def compare_text(a: EvalReport, b: EvalReport, names: tuple[str, str] = ("A", "B")) -> str:
    """Per combination (prompt, model, strategy) found in either: what changed, A -> B."""
    when = "%Y-%m-%d %H:%M"
    lines = [f"A = {names[0]} ({a.created_at:{when}}), B = {names[1]} ({b.created_at:{when}})"]
    samples_a, samples_b = {s.id for s in a.samples}, {s.id for s in b.samples}
    if samples_a != samples_b or a.languages != b.languages:
        lines.append(
            "note: the two evaluations ran on different samples or languages "
            f"(A: {len(samples_a)} sample(s), {','.join(a.languages)}; "
            f"B: {len(samples_b)} sample(s), {','.join(b.languages)}): "
            "figures are not like for like"
        )
    old = {c.combination.key: c for c in a.combos}
    new = {c.combination.key: c for c in b.combos}
    for key in [*old, *(k for k in new if k not in old)]:
        lines.append("")
        if key not in new:
            lines.append(f"{key}: only in A")
            continue
        if key not in old:
            lines.append(f"{key}: only in B")
            continue
        changed = _differences(old[key].metrics, new[key].metrics)
        lines.append(f"{key}:" + ("" if changed else " no change"))
        lines += changed
    return "\n".join(lines)
