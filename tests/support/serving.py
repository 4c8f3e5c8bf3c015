"""Run a socketserver-style server on a thread for the length of a ``with`` block."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from socketserver import BaseServer
from typing import TypeVar

S = TypeVar("S", bound=BaseServer)


@contextmanager
def serving(server: S, *, on_stop: Callable[[], None] | None = None) -> Iterator[S]:
    """Serve in a daemon thread; on exit wake whatever ``on_stop`` wakes (sleeping handlers),
    shut down, close the socket and join the thread, so no test leaks a thread or a port."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        if on_stop is not None:
            on_stop()
        server.shutdown()
        server.server_close()
        thread.join()
