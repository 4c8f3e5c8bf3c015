"""Two small questions the daily edition may put to the model while it builds its stories
(both off by default, both cached like summaries):

- **same event?** (``prompts/same-event``, ``[daily] confirm_merges``): clustering asks it
  about borderline merges only (``cluster_articles``' ``confirm`` hook); a "no" keeps the two
  groups apart. An answer that cannot be had (refused, unparseable, over budget) keeps the
  mechanical decision.
- **which section?** (``prompts/classify-section``, ``[daily] classify``): for a story whose
  sources and categories give none; an answer outside the list means "More news".
"""

from __future__ import annotations

import threading

from pydantic import BaseModel

from digest.answers import SameEventAnswer, SectionAnswer
from digest.cache import cache_key
from digest.errors import BudgetExceeded
from digest.ingest.events import Event
from digest.models import Article, Check, Usage
from digest.prompts import PromptSpec
from digest.summarize import Summarizer


def _no_gate(_value: BaseModel) -> list[Check]:
    return []


class StoryQuestions:
    """Asks, caches and counts; thread-safe (clustering runs in one thread, but still)."""

    def __init__(
        self,
        summarizer: Summarizer,
        *,
        same_event: PromptSpec | None = None,
        classify: PromptSpec | None = None,
    ) -> None:
        self.summarizer = summarizer
        self.llm = summarizer.llm
        self.cache = summarizer.cache
        self.same_event_spec = same_event
        self.classify_spec = classify
        self._lock = threading.Lock()
        self.usage = Usage()
        self.asked = 0
        self.refused = 0

    def _ask(self, spec: PromptSpec, subject: str, **variables: object) -> BaseModel | None:
        key = cache_key(
            kind=spec.name,
            subject=subject,
            prompt=f"{spec.ref}#{spec.fingerprint()}",
            model=self.llm.model,
            endpoint=self.llm.endpoint,
            lang="",
            schema=spec.output,
        )
        cached = self.cache.get(key)
        if cached is not None:
            try:
                return spec.schema_model.model_validate(cached)
            except ValueError:
                pass
        try:
            answer = self.summarizer.ask(spec, spec.render(fence=key[:16], **variables), _no_gate)
        except BudgetExceeded:
            return None
        with self._lock:
            self.usage = self.usage + answer.usage
        if answer.value is None:
            return None
        self.cache.put(
            key,
            answer.value.model_dump(mode="json"),
            kind=spec.name,
            article=subject[:64],
            lang="",
            prompt=spec.ref,
            model=self.llm.model,
        )
        return answer.value

    def same_event(self, a: Article, b: Article) -> bool:
        """The confirm hook: False only when the model says these are two events."""
        spec = self.same_event_spec
        if spec is None:
            return True
        first, second = sorted((a, b), key=lambda x: x.id)
        value = self._ask(spec, f"{first.id}|{second.id}", first=first, second=second)
        same = not isinstance(value, SameEventAnswer) or value.same_event
        with self._lock:
            self.asked += 1
            self.refused += not same
        return same

    def section(self, event: Event, sections: list[str]) -> str | None:
        spec = self.classify_spec
        if spec is None:
            return None
        subject = event.lead.id + "|" + "|".join(sections)
        value = self._ask(spec, subject, article=event.lead, sections=sections)
        if not isinstance(value, SectionAnswer):
            return None
        wanted = {s.casefold(): s for s in sections}
        return wanted.get(value.section.strip().casefold())
