"""A real HTTP server on 127.0.0.1 serving a small news site for `digest daily` tests.

``Site`` serves whatever routes a test registers (pages, feeds, redirects, errors, slow or
huge bodies) and records every request. ``build_news_site`` fills it with an RSS feed, an
Atom feed and realistic article pages (navigation, cookie banner, share bar, footer), plus
the bad cases the daily edition must survive: a 404, a redirect, a redirect loop, a page
over the size cap, a PDF, the same story in both feeds, a near-copy of a story under
another URL, an undated entry and entries outside the time window.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from support.serving import serving

HUGE_BYTES = 6_000_000  # over digest.ingest.fetch.MAX_BYTES


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    send_length: bool = True  # False: close-delimited body, no Content-Length
    delay: float = 0.0
    # Conditional GET: sent as validators; a request carrying a matching one gets a 304.
    etag: str | None = None
    last_modified: str | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: stop() never waits on keep-alive
    server: _Server

    def do_GET(self) -> None:
        site = self.server.site
        path = self.path.split("?", 1)[0]
        with site.lock:
            site.hits[path] += 1
            site.user_agents.append(self.headers.get("User-Agent", ""))
            route = site.routes.get(path)
            site.in_flight += 1
            site.max_in_flight = max(site.max_in_flight, site.in_flight)
        started = time.monotonic()
        try:
            self._answer(site, route)
        finally:
            with site.lock:
                site.in_flight -= 1
                site.spans.append((started, time.monotonic()))

    def _answer(self, site: Site, route: Route | None) -> None:
        if route is None:
            route = Route(404, b"<html><body><h1>Not found</h1></body></html>")
        if route.delay:
            site.stopping.wait(route.delay)
        validators = {"ETag": route.etag, "Last-Modified": route.last_modified}
        unchanged = (route.etag and self.headers.get("If-None-Match") == route.etag) or (
            route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified
        )
        if unchanged:
            with site.lock:
                site.not_modified += 1
            self.send_response(304)
            for name, value in validators.items():
                if value:
                    self.send_header(name, value)
            self.end_headers()
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        if route.send_length:
            self.send_header("Content-Length", str(len(route.body)))
        for name, value in [*route.headers.items(), *validators.items()]:
            if value:
                self.send_header(name, value)
        self.end_headers()
        try:
            for start in range(0, len(route.body), 65536):
                self.wfile.write(route.body[start : start + 65536])
            with site.lock:
                site.bytes_sent += len(route.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (size cap): expected

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, site: Site) -> None:
        self.site = site
        super().__init__((site.host, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class Site:
    """Routes by path (the query string is ignored); use as a context manager. ``host``: the
    loopback address to serve on (127.0.0.2 ... are other hosts to a client)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.user_agents: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0  # most requests handled at one moment
        self.not_modified = 0  # 304s answered
        self.bytes_sent = 0  # body bytes of full answers
        self.spans: list[tuple[float, float]] = []  # (start, end) of every request
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._serving = ExitStack()
        self.base_url = ""

    def __enter__(self) -> Site:
        server = self._serving.enter_context(serving(_Server(self), on_stop=self.stopping.set))
        host, port = server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._serving.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: bytes | str, **route: Any) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **route)
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        self.routes[path] = Route(status, b"", headers={"Location": to})
        return self.url(path)


# --- content ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoryText:
    slug: str
    title: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


STORIES: dict[str, StoryText] = {
    s.slug: s
    for s in (
        StoryText(
            "bridge",
            "Riverside footbridge opens to cyclists and walkers",
            (
                "The new footbridge across the river opened on Monday morning, giving cyclists "
                "and walkers a direct link between the station quarter and the university "
                "campus for the first time.",
                "The city engineering office said the steel bridge is 140 metres long and was "
                "built in eleven months, two months faster than planned, at a cost of 9.4 "
                "million euros.",
                "Local cycling groups welcomed the opening but asked for better lighting on the "
                "ramps, which they described as dark and steep during the evening rush hour.",
            ),
        ),
        StoryText(
            "library",
            "City library extends evening opening hours",
            (
                "The central library will stay open until ten in the evening on weekdays from "
                "next month, the culture department announced on Tuesday after a survey of "
                "more than four thousand readers.",
                "Students had asked for longer hours during the exam season, when the reading "
                "rooms are full by early afternoon and many are turned away at the door.",
                "The extra hours will be covered by six new part-time staff, and the cafe on "
                "the ground floor will also close later, according to the department.",
            ),
        ),
        StoryText(
            "ferry",
            "Harbour ferry returns after engine repair",
            (
                "The harbour ferry between the north and south quays returned to service on "
                "Wednesday after a six-week repair of its engine, the transport office said.",
                "The boat carries about nine hundred passengers on a normal weekday and runs "
                "every twenty minutes between seven in the morning and eight in the evening.",
                "During the repair a replacement bus took passengers around the harbour, which "
                "added almost half an hour to the trip for many commuters.",
            ),
        ),
        StoryText(
            "night-market",
            "Night market draws large crowds on its first weekend",
            (
                "The new night market on the cathedral square drew large crowds on its first "
                "weekend, with long queues forming at the food stalls soon after sunset on "
                "both Friday and Saturday evenings.",
                "Organisers said more than sixty traders took part, selling street food, "
                "handmade jewellery, second-hand books and plants, and most of them sold out "
                "well before the market closed at midnight.",
                "Residents living around the square asked the city to keep an eye on noise and "
                "litter, and the organisers promised extra bins and an earlier end to the live "
                "music on Sunday evenings for the rest of the summer season.",
            ),
        ),
        StoryText(
            "tram-depot",
            "Farmers market moves to the old tram depot",
            (
                "The weekly farmers market is moving from the car park behind the town hall "
                "to the old tram depot, which has stood empty for almost twenty years.",
                "The depot offers a roof over the stalls and space for forty traders, twice as "
                "many as before, the market association said in a statement on Thursday.",
                "The first market in the new hall will open on Saturday morning, and the "
                "association expects more visitors now that shoppers stay dry in the rain.",
            ),
        ),
        StoryText(
            "park",
            "Volunteers clear litter from the hill park",
            (
                "More than two hundred volunteers spent Sunday clearing litter from the hill "
                "park, filling over three hundred bags with plastic, glass and paper.",
                "The clean-up was organised by a neighbourhood association and supported by "
                "the parks department, which lent gloves, grabbers and two small trucks.",
                "Organisers said they plan to repeat the event every spring and autumn, and "
                "asked visitors to use the new recycling bins at the park gates.",
            ),
        ),
        StoryText(
            "council-budget",
            "Council approves next year's budget",
            (
                "The city council approved next year's budget late on Thursday after a long "
                "debate about road repairs and the cost of the new swimming pool.",
                "Spending on schools will rise slightly, while the budget for events and "
                "festivals will be cut, the finance committee said after the vote.",
                "Opposition members voted against the plan, arguing that it relies on "
                "optimistic forecasts for tax income over the coming years.",
            ),
        ),
    )
}

# The wire service's copy of the library story: the same text with one sentence changed.
WIRE_LIBRARY = StoryText(
    "wire-library",
    "Library to open longer in the evenings",
    (
        STORIES["library"].paragraphs[0],
        STORIES["library"].paragraphs[1],
        STORIES["library"].paragraphs[2].replace("according to the department", "officials said"),
    ),
)


def article_page(story: StoryText, published: datetime | None = None) -> str:
    """A realistic article page: the story's text among navigation, banners and footers."""
    meta = (
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        if published
        else ""
    )
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(story.title)} | Riverside Gazette</title>{meta}
</head><body>
<div class="cookie-banner">We use cookies to improve your experience.
<button>Accept all</button></div>
<header><a href="/">Riverside Gazette</a>
<nav><ul><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/culture">Culture</a></li><li><a href="/weather">Weather</a></li></ul></nav>
</header>
<main><article>
<h1>{html.escape(story.title)}</h1>
<p class="byline">By the city desk</p>
{body}
<div class="share">Share this: <a href="#">Facebook</a> <a href="#">Email</a></div>
</article>
<aside><h2>Most read</h2><ul><li><a href="/news/a">Weather warning for the weekend</a></li>
<li><a href="/news/b">Road closures on the ring road</a></li></ul></aside>
</main>
<footer><p>Riverside Gazette, all rights reserved.</p>
<a href="/privacy">Privacy</a> <a href="/contact">Contact us</a></footer>
</body></html>
"""


@dataclass(frozen=True)
class Item:
    title: str
    link: str
    published: datetime | None
    category: str | None = None
    summary: str = ""
    content: str = ""


def rss_feed(title: str, items: list[Item]) -> str:
    parts = []
    for item in items:
        parts.append("<item>")
        parts.append(
            f"<title>{html.escape(item.title)}</title><link>{html.escape(item.link)}</link>"
        )
        parts.append(f"<guid>{html.escape(item.link)}</guid>")
        if item.published:
            parts.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
        if item.category:
            parts.append(f"<category>{html.escape(item.category)}</category>")
        if item.summary:
            parts.append(f"<description>{html.escape(item.summary)}</description>")
        if item.content:
            parts.append(f"<content:encoded><![CDATA[{item.content}]]></content:encoded>")
        parts.append("</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{html.escape(title)}</title><link>http://example.invalid/</link>"
        "<description>News</description>" + "\n".join(parts) + "</channel></rss>\n"
    )


def atom_feed(title: str, items: list[Item]) -> str:
    parts = []
    for item in items:
        stamp = (item.published or datetime(2000, 1, 1).astimezone()).isoformat()
        parts.append(
            f"<entry><title>{html.escape(item.title)}</title>"
            f'<link rel="alternate" href="{html.escape(item.link)}"/>'
            f"<id>{html.escape(item.link)}</id><updated>{stamp}</updated>"
            + (f'<category term="{html.escape(item.category)}"/>' if item.category else "")
            + (f"<summary>{html.escape(item.summary)}</summary>" if item.summary else "")
            + "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(title)}</title><id>urn:wire</id>"
        f"<updated>{datetime(2000, 1, 1).astimezone().isoformat()}</updated>"
        + "\n".join(parts)
        + "</feed>\n"
    )


def end_of_day(day: date) -> datetime:
    """Where `digest daily --date DAY` ends its window (local time)."""
    return datetime.combine(day, clock.max).astimezone()


@dataclass
class NewsSite:
    site: Site
    day: date
    rss: str
    atom: str

    def page_hits(self, slug: str) -> int:
        return self.site.hits[f"/news/{slug}"]


def build_news_site(site: Site, day: date) -> NewsSite:
    """Both feeds and every page for an edition of ``day`` (window: the 24 h before its end).

    Kept for ``day`` (6): bridge (both feeds, 2 sources), library (+ the wire's near-copy,
    2 sources), ferry (behind a redirect), night-market (page 404s; the feed's full text is
    used), tram-depot, park (undated). Skipped (4): a 404 with a short teaser, a redirect
    loop, a huge page, a PDF. Outside the window: council-budget (the day before, inside
    the previous day's window) and a three-day-old entry.
    """
    end = end_of_day(day)

    def at(hours_before_end: float) -> datetime:
        return (end - timedelta(hours=hours_before_end)).replace(microsecond=0)

    for story in STORIES.values():
        if story.slug != "night-market":
            site.add(f"/news/{story.slug}", article_page(story))
    site.add("/wire/library-evenings", article_page(WIRE_LIBRARY))
    site.redirect("/old/ferry", "/news/ferry", status=301)
    site.redirect("/loop/a", "/loop/b")
    site.redirect("/loop/b", "/loop/a")
    site.add(
        "/news/huge", b"<html><body>" + b"<p>word </p>" * (HUGE_BYTES // 11) + b"</body></html>"
    )
    site.add("/files/report.pdf", b"%PDF-1.4 not html", content_type="application/pdf")
    # /news/night-market and /news/vanished are not registered: they 404.

    base = site.base_url
    market = STORIES["night-market"]
    rss_items = [
        Item(
            STORIES["bridge"].title,
            f"{base}/news/bridge?utm_source=rss&utm_medium=feed",
            at(15),
            "Transport",
        ),
        Item(STORIES["library"].title, f"{base}/news/library", at(17), "Culture"),
        Item(STORIES["ferry"].title, f"{base}/old/ferry", at(20), "Transport"),
        Item(
            market.title,
            f"{base}/news/night-market",
            at(12),
            "Culture",
            summary="Crowds at the new night market.",
            content="".join(f"<p>{html.escape(p)}</p>" for p in market.paragraphs),
        ),
        Item(
            "Mystery story vanished",
            f"{base}/news/vanished",
            at(10),
            "Culture",
            summary="A short teaser only.",
        ),
        Item("Loop story", f"{base}/loop/a", at(9)),
        Item(STORIES["park"].title, f"{base}/news/park", None),
        Item(STORIES["council-budget"].title, f"{base}/news/council-budget", at(36), "Politics"),
        Item("Three days old", f"{base}/news/three-days-old", at(24 * 3 + 5)),
    ]
    atom_items = [
        Item(STORIES["bridge"].title, f"{base}/news/bridge/#comments", at(14)),
        Item(WIRE_LIBRARY.title, f"{base}/wire/library-evenings", at(16), "Wire"),
        Item(STORIES["tram-depot"].title, f"{base}/news/tram-depot", at(8)),
        Item("Huge page", f"{base}/news/huge", at(7)),
        Item("Annual report", f"{base}/files/report.pdf", at(6)),
    ]
    rss_xml = rss_feed("Riverside Gazette", rss_items)
    rss = site.add("/rss.xml", rss_xml, content_type="application/rss+xml")
    atom_xml = atom_feed("City Wire", atom_items)
    atom = site.add("/atom.xml", atom_xml, content_type="application/atom+xml")
    return NewsSite(site=site, day=day, rss=rss, atom=atom)
