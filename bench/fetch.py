"""Fetching the day's sources: conditional GET and per-host limits.

    python bench/fetch.py            # 40 feeds x 10 entries on 4 loopback hosts
    python bench/fetch.py --quick    # 8 feeds x 5 entries

N feeds on 4 hosts (127.0.0.1 .. 127.0.0.4, each a ``support.sites.Site``; half of the
feeds on the first, a big outlet), each feed linking to its own article pages on the same
host; every answer takes ``--delay`` seconds (a slow news site), every route sends an ETag.
``digest.ingest.gather`` reads them all (product code: feeds and pages in parallel,
``HostLimits``, the conditional store in a temp dir):

1. cold (fresh store) without a per-host limit (8 per host, 8 in all), to show what the
   limit costs in time and what it spares the big host (run first: no warm connections);
2. cold, with the product's limits (2 per host, 8 in all);
3. again, nothing changed: every request should be a 304, no body bytes.

Per run: requests, 304s, body bytes received (what gather counts) and sent (what the
servers count), seconds, and the most requests in flight at one host and in all, as the
client had them open (a counting httpx transport: from sending a request to closing its
response, which is what ``HostLimits`` holds a slot for).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _common import append_results, table
from support.sites import STORIES, Item, Site, StoryText, article_page, rss_feed

from digest.ingest.conditional import ConditionalStore
from digest.ingest.fetch import HostLimits
from digest.ingest.gather import gather
from digest.ingest.stories import make_window
from digest.sections import SourceConfig

HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]


def build(sites: list[Site], feeds: int, entries: int, delay: float) -> list[SourceConfig]:
    now = datetime.now().astimezone()
    stories = list(STORIES.values())
    sources = []
    for n in range(feeds):
        # Half of the feeds on the first host (a big outlet), the rest spread over the others.
        site = sites[0] if n % 2 == 0 else sites[1 + (n // 2) % (len(sites) - 1)]
        items = []
        for e in range(entries):
            story = stories[(n + e) % len(stories)]
            # Unique text per page: a number that differs everywhere.
            text = StoryText(
                story.slug, f"{story.title} ({n}-{e})", (*story.paragraphs, f"Item {n}-{e}.")
            )
            path = f"/f{n}/p{e}"
            site.add(path, article_page(text), delay=delay, etag=f'"{path}"')
            items.append(Item(text.title, site.url(path), now - timedelta(minutes=5 + e)))
        feed = f"/f{n}/rss.xml"
        site.add(
            feed, rss_feed(f"Feed {n}", items), content_type="application/rss+xml", etag=f'"{feed}"'
        )
        sources.append(SourceConfig(feed=site.url(feed)))
    return sources


class CountingTransport(httpx.HTTPTransport):
    """Counts requests open at once, per host and in all, from send to response close."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.open: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.total = self.peak_total = 0

    def _step(self, host: str, step: int) -> None:
        with self.lock:
            self.open[host] += step
            self.total += step
            self.peak[host] = max(self.peak[host], self.open[host])
            self.peak_total = max(self.peak_total, self.total)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self._step(host, 1)
        try:
            response = super().handle_request(request)
        except BaseException:
            self._step(host, -1)
            raise
        inner = response.stream
        done = threading.Event()
        transport = self

        class Closing(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                yield from inner  # type: ignore[misc]

            def close(self) -> None:
                inner.close()  # type: ignore[attr-defined]
                if not done.is_set():
                    done.set()
                    transport._step(host, -1)

        response.stream = Closing()
        return response


def run(
    name: str,
    sites: list[Site],
    sources: list[SourceConfig],
    store: ConditionalStore,
    limits: HostLimits,
) -> list[Any]:
    for site in sites:
        with site.lock:
            site.bytes_sent = 0
            site.not_modified = 0
    window = make_window("24h", now=datetime.now())
    counting = CountingTransport()
    started = time.perf_counter()
    with httpx.Client(timeout=30, transport=counting) as client:
        gathered = gather(sources, client, window, 3000, store=store, limits=limits)
    seconds = time.perf_counter() - started
    return [
        name,
        len(gathered.candidates),
        gathered.requests,
        gathered.not_modified,
        round(gathered.bytes / 1024, 1),
        round(sum(s.bytes_sent for s in sites) / 1024, 1),
        round(seconds, 2),
        max(counting.peak.values()),
        counting.peak_total,
    ]


HEADERS = [
    "run", "articles", "requests", "304s", "KB received", "KB sent by servers", "seconds",
    "max in flight per host", "max in flight overall",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 feeds x 5 entries")
    parser.add_argument("--feeds", type=int, default=None)
    parser.add_argument("--entries", type=int, default=None)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per page answer")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args()
    feeds = args.feeds or (8 if args.quick else 40)
    entries = args.entries or (5 if args.quick else 10)
    # Warm-up: the first extraction imports trafilatura & co (about a second on 2 cores).
    from digest.ingest.files import article_from_html

    article_from_html(
        article_page(next(iter(STORIES.values()))).encode(), url=None, source="warm-up"
    )
    with Site(HOSTS[0]) as a, Site(HOSTS[1]) as b, Site(HOSTS[2]) as c, Site(HOSTS[3]) as d:
        sites = [a, b, c, d]
        sources = build(sites, feeds, entries, args.delay)
        with tempfile.TemporaryDirectory(prefix="digest-bench-fetch-") as tmp:
            store = ConditionalStore(Path(tmp) / "state")
            unlimited = run(
                "cold, no per-host limit (8 / 8)", sites, sources, store, HostLimits(8, 8)
            )
        with tempfile.TemporaryDirectory(prefix="digest-bench-fetch-") as tmp:
            store = ConditionalStore(Path(tmp) / "state")
            cold = run("cold, 2 per host / 8", sites, sources, store, HostLimits(2, 8))
            again = run("unchanged (304s)", sites, sources, store, HostLimits(2, 8))
    rows = [cold, again, unlimited]
    text = table(HEADERS, rows)
    print(text)
    verdict = [
        f"second run: {again[3]} of {again[2]} requests answered 304, {again[4]} KB received "
        f"(cold: {cold[4]} KB), {again[6]} s (cold: {cold[6]} s)",
        f"per-host limit 2 respected: at most {cold[7]} request(s) at once at one host "
        f"(without the limit: {unlimited[7]}), {cold[8]} in all (limit 8)",
    ]
    print("\n".join(verdict))
    if args.no_append:
        return
    append_results(
        "fetch" + (" (quick)" if args.quick else ""),
        {"feeds": feeds, "entries": entries, "hosts": len(HOSTS), "page_delay_s": args.delay},
        text + "\n\n" + "\n".join(f"- {line}" for line in verdict) + "\n\n" + NOTE,
    )


NOTE = (
    "Loopback servers, so seconds are the servers' delay per answer (a 304 waits it too: "
    "a round trip each) and our own work (feed parsing, page extraction, which a 304 skips: "
    "a page's stored copy is its extracted article, a feed's its bytes), not a network's. "
    "Requests are started host by host in turn, so the per-host limit does not leave "
    "workers idle behind one busy host."
)


if __name__ == "__main__":
    main()
