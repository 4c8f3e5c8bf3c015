"""Many LLM tasks on a thread pool: results in order, the first fatal error stops the rest.

A task that finds the run stopping raises ``Cancelled``; what the caller sees is the error
that stopped the run, never the cancellation of a worker it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from digest.errors import Cancelled

R = TypeVar("R")


def run_all(
    jobs: Sequence[Callable[[], R]],
    *,
    concurrency: int,
    on_result: Callable[[R], None] | None = None,
    on_stop: Callable[[], None] = lambda: None,
) -> list[R]:
    """Run every job; results in job order. On any error (or Ctrl-C) ``on_stop`` cancels
    the run (wakes sleeping retries, stops queued work) before the error is raised."""
    if not jobs:
        return []
    results: dict[int, R] = {}
    pool = ThreadPoolExecutor(
        max_workers=max(1, min(concurrency, len(jobs))), thread_name_prefix="digest-llm"
    )
    futures: dict[Future[R], int] = {}
    try:
        for index, job in enumerate(jobs):
            futures[pool.submit(job)] = index
        pending = set(futures)
        errors: list[BaseException] = []
        while pending and not any(not isinstance(e, Cancelled) for e in errors):
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    errors.append(error)
                    continue
                result = future.result()
                results[futures[future]] = result
                if on_result is not None:
                    on_result(result)
        if errors:
            # Report the failure that stopped the run, not a worker it cancelled.
            raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
    except BaseException:
        on_stop()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[i] for i in range(len(jobs))]
