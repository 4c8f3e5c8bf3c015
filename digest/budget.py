"""The run's spending limit (--max-tokens / --max-cost), held under concurrency."""

from __future__ import annotations

import threading
from typing import NamedTuple

from digest.errors import BudgetExceeded
from digest.models import Usage
from digest.sections import BudgetSettings, Price


class Reservation(NamedTuple):
    tokens: int
    cost: float


class Budget:
    """--max-tokens / --max-cost, held under concurrency: every call reserves what it may
    cost (its estimated prompt + the prompt's max_tokens) before it is sent and settles to
    what it did cost after. A call whose reservation does not fit waits while others are in
    flight (they usually cost less than reserved) and is refused once it can never fit, so a
    run overspends only by what its prompt estimates fell short (they are made high)."""

    def __init__(self, max_tokens: int | None, max_cost: float | None, price: Price | None) -> None:
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.price = price
        self._cond = threading.Condition()
        self.tokens = 0
        self.cost = 0.0
        self.reserved_tokens = 0
        self.reserved_cost = 0.0

    @classmethod
    def for_model(cls, settings: BudgetSettings, model: str) -> Budget:
        return cls(settings.max_tokens, settings.max_cost, settings.prices.get(model))

    def cost_of(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if self.price is None:
            return None
        return (
            prompt_tokens * self.price.input_per_million
            + completion_tokens * self.price.output_per_million
        ) / 1_000_000

    def _over(self, tokens: int, cost: float) -> str | None:
        if self.max_tokens is not None and tokens > self.max_tokens:
            return f"token budget reached ({self.tokens} of {self.max_tokens} spent)"
        if self.max_cost is not None and cost > self.max_cost:
            return f"cost budget reached ({self.cost:.4f} of {self.max_cost} spent)"
        return None

    def reserve(self, prompt_tokens: int, completion_tokens: int) -> Reservation:
        """Hold what a call may cost; BudgetExceeded if it can never fit."""
        wanted = Reservation(
            prompt_tokens + completion_tokens, self.cost_of(prompt_tokens, completion_tokens) or 0.0
        )
        with self._cond:
            while True:
                never = self._over(self.tokens + wanted.tokens, self.cost + wanted.cost)
                if never:
                    raise BudgetExceeded(never)
                if not self._over(
                    self.tokens + self.reserved_tokens + wanted.tokens,
                    self.cost + self.reserved_cost + wanted.cost,
                ):
                    self.reserved_tokens += wanted.tokens
                    self.reserved_cost += wanted.cost
                    return wanted
                self._cond.wait()  # a call in flight settles, usually below its reservation

    def settle(self, reservation: Reservation, usage: Usage | None) -> None:
        """The call is over: release its reservation, charge what it cost (None: nothing)."""
        with self._cond:
            self.reserved_tokens -= reservation.tokens
            self.reserved_cost -= reservation.cost
            if usage is not None:
                self._charge(usage.prompt_tokens, usage.completion_tokens)
            self._cond.notify_all()

    def charge(self, prompt_tokens: int, completion_tokens: int) -> None:
        """Tokens paid without a reservation (Batch API answers)."""
        with self._cond:
            self._charge(prompt_tokens, completion_tokens)
            self._cond.notify_all()

    def _charge(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.tokens += prompt_tokens + completion_tokens
        self.cost += self.cost_of(prompt_tokens, completion_tokens) or 0.0
