"""Roles: two named participants of a claim swapped against the sentences it cites.

Names are the claim's capitalised names (folded, as digest.checks.names finds them); words
are content stems (digest.checks.lexicon). Two signals, both conservative:

- the same words between two names, in the other order ("13 Syrian soldiers were killed by
  Turkish attacks" for "13 Turkish soldiers were killed by Syrian attacks");
- two runs of names that took each other's places (each stands between the words that the
  cited sentences have around the other, never around itself).

A pair joined by one word ("Russia and Turkey") is a list, whose order means nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from digest.checks.lexicon import Lexicon, stems_match
from digest.checks.names import name_part
from digest.checks.text import WORD, fold


def ids_label(ids: Iterable[int]) -> str:
    shown = sorted(set(ids))
    return f"sentence [{shown[0]}]" if len(shown) == 1 else f"sentences {shown}"


def _positions(text: str, names: set[str], lex: Lexicon) -> list[tuple[str, str]]:
    """The text as (kind, key) items in order: ("name", folded name) or ("word", stem)."""
    items: list[tuple[str, str]] = []
    for match in WORD.finditer(text):
        key = fold(name_part(match.group(0)))
        name = next((n for n in names if key == n or (len(n) >= 4 and key.startswith(n))), None)
        if name is not None:
            items.append(("name", name))
        else:
            items.extend(("word", stem) for stem in lex.content_stems(match.group(0)))
    return items


def _between(items: list[tuple[str, str]], a: str, b: str) -> list[set[str]]:
    """Content stems between each occurrence of name ``a`` and a later name ``b``."""
    found: list[set[str]] = []
    for i, (kind, key) in enumerate(items):
        if kind != "name" or key != a:
            continue
        words: set[str] = set()
        for kind2, key2 in items[i + 1 :]:
            if kind2 == "name" and key2 == b:
                found.append(words)
                break
            if kind2 == "name" and key2 == a:
                break
            if kind2 == "word":
                words.add(key2)
    return found


def _alike(words: set[str], other: set[str]) -> bool:
    """Two thirds of ``words`` (>= 2) are in ``other``."""
    shared = sum(any(stems_match(w, o) for o in other) for w in words)
    return shared >= 2 and shared * 3 >= len(words) * 2


def _frames(text: str, names: set[str]) -> list[tuple[str, str, str, int, int]]:
    """Each run of names ("Vice President Fuat Oktay") as (key: its last name, the word or
    mark before it, the one after it, first and last token index)."""
    tokens = [(m.start(), m.end(), m.group(0)) for m in WORD.finditer(text)]
    found: list[tuple[str, str, str, int, int]] = []
    i = 0
    while i < len(tokens):
        if fold(name_part(tokens[i][2])) not in names:
            i += 1
            continue
        j = i
        while (
            j + 1 < len(tokens)
            and fold(name_part(tokens[j + 1][2])) in names
            and not text[tokens[j][1] : tokens[j + 1][0]].strip()
        ):
            j += 1

        def side(gap: str, word: str) -> str:
            return gap.strip()[:1] if gap.strip() else fold(word)

        before = side(text[tokens[i - 1][1] : tokens[i][0]], tokens[i - 1][2]) if i else "^"
        after = (
            side(text[tokens[j][1] : tokens[j + 1][0]], tokens[j + 1][2])
            if j + 1 < len(tokens)
            else "$"
        )
        found.append((fold(name_part(tokens[j][2])), before, after, i, j))
        i = j + 1
    return found


def _exchanged(claim: str, cited: dict[int, str], names: set[str]) -> list[str]:
    """Two runs of names that took each other's places: each stands between words the source
    has around the other, never around itself ("Russia said" where the source has "Oktay
    said", and "with Oktay" where it has "with Russia"). Names joined by one word ("X and Y")
    are not judged: the order of a list means nothing."""
    mine = _frames(claim, names)
    theirs: dict[str, set[tuple[str, str]]] = {}
    for sentence in cited.values():
        for key, before, after, _, _ in _frames(sentence, names):
            theirs.setdefault(key, set()).update({("L", before), ("R", after)})
    problems: list[str] = []
    for k, (a, a_before, a_after, _, a_last) in enumerate(mine):
        for b, b_before, b_after, b_first, _ in mine[k + 1 :]:
            if a == b or a not in theirs or b not in theirs or b_first - a_last <= 2:
                continue
            at_a, at_b = {("L", a_before), ("R", a_after)}, {("L", b_before), ("R", b_after)}
            if not (at_a & theirs[a] or at_b & theirs[b]) and at_a & theirs[b] and at_b & theirs[a]:
                problems.append(f'"{a}" and "{b}" have swapped places against {ids_label(cited)}')
    return problems


def swapped_roles(claim: str, cited: dict[int, str], names: set[str], lex: Lexicon) -> list[str]:
    """Two names the other way round around the same words: "13 Syrian soldiers were killed
    by Turkish attacks" for "13 Turkish soldiers were killed by Syrian attacks"; or two runs
    of names that took each other's places (``_exchanged``). Names whose order changes around
    different words (a rephrasing) pass."""
    names = {n for n in names if len(n) >= 2}
    if len(names) < 2:
        return []
    mine = _positions(claim, names, lex)
    theirs = [(i, _positions(sentence, names, lex)) for i, sentence in cited.items()]
    problems: list[str] = []
    for a in sorted(names):
        for b in sorted(names - {a}):
            for words in _between(mine, a, b):
                if any(_alike(words, o) for _, items in theirs for o in _between(items, a, b)):
                    continue  # the source has them in this order around these words too
                flipped = [
                    i for i, items in theirs if any(_alike(words, o) for o in _between(items, b, a))
                ]
                if flipped:
                    problems.append(
                        f'"{a}" and "{b}" are the other way round in {ids_label(flipped)}'
                    )
    return list(dict.fromkeys(problems + _exchanged(claim, cited, names)))
