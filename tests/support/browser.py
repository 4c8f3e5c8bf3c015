"""Drive headless Chromium over the DevTools protocol for layout tests.

Small on purpose: launch ``chromium --remote-debugging-port=0``, read the port it picked from
``DevToolsActivePort`` in the profile folder, talk CDP over one websocket (websocket-client)
with flattened target sessions. Enough to open a page at a phone-sized viewport, evaluate a
JS probe, take a full-page screenshot and collect console errors.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import websocket

DEBIAN_CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
]
TIMEOUT = 30.0


def find_chromium() -> str | None:
    """$CHROMIUM, else Debian's /usr/bin/chromium, else chromium on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), DEBIAN_CHROMIUM, shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class CDPError(RuntimeError):
    pass


class Connection:
    """One websocket to the browser; commands wait for their reply, events are kept."""

    def __init__(self, url: str) -> None:
        # Chromium refuses websocket clients that send an Origin it was not told to allow.
        self.ws = websocket.create_connection(url, timeout=TIMEOUT, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        message: dict[str, Any] = {"id": next(self.ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = self._receive()
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, method: str, session: str, after: int = 0) -> dict[str, Any]:
        """The first event ``method`` of ``session`` at index >= ``after`` in ``events``."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for event in self.events[after:]:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {TIMEOUT:.0f} s")
            self._receive()

    def _receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.ws.recv())
        if "method" in message:
            self.events.append(message)
        return message

    def close(self) -> None:
        self.ws.close()


class Page:
    """A tab with a fixed CSS-pixel viewport, emulating a touch phone when ``mobile``."""

    def __init__(self, cdp: Connection, session: str) -> None:
        self.cdp = cdp
        self.session = session

    def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.cdp.send(method, params, self.session)

    def goto(self, url: str) -> None:
        mark = len(self.cdp.events)
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError(f"cannot load {url}: {result['errorText']}")
        self.cdp.wait_for("Page.loadEventFired", self.session, after=mark)

    def wait_for_reload(self, after: int) -> None:
        self.cdp.wait_for("Page.loadEventFired", self.session, after=after)

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise CDPError(f"probe failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """The whole page, not only the first screenful."""
        metrics = self.send("Page.getLayoutMetrics")
        width = metrics["cssLayoutViewport"]["clientWidth"]
        height = metrics["cssContentSize"]["height"]
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = self.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        target = self.cdp.send("Target.getTargetInfo", {}, self.session)["targetInfo"]
        self.cdp.send("Target.closeTarget", {"targetId": target["targetId"]})

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser-logged errors (CSP, 404s) so far."""
        errors = []
        for event in self.cdp.events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
                errors.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                )
            elif method == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(f"{params['entry'].get('text')} ({params['entry'].get('url', '')})")
        return errors


class Chromium:
    """``with Chromium(profile) as browser: page = browser.new_page(375, 812)``."""

    def __init__(self, profile: Path, executable: str | None = None) -> None:
        self.profile = profile
        self.executable = executable or find_chromium() or DEBIAN_CHROMIUM
        self.process: subprocess.Popen[bytes] | None = None
        self.cdp: Connection | None = None

    def __enter__(self) -> Chromium:
        self.profile.mkdir(parents=True, exist_ok=True)
        log = (self.profile / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its helper processes form one group we can end
        )
        log.close()
        try:
            self.cdp = Connection(self._browser_url())
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def new_page(self, width: int, height: int, mobile: bool = True) -> Page:
        assert self.cdp is not None
        target = self.cdp.send("Target.createTarget", {"url": "about:blank"})
        attached = self.cdp.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self.cdp, attached["sessionId"])
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        return page

    def _browser_url(self) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                log = (self.profile / "chromium.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"chromium exited with {self.process.returncode}: {log}")
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise TimeoutError(f"chromium did not open its DevTools port within {TIMEOUT:.0f} s")

    def _stop(self) -> None:
        if self.cdp is not None:
            try:
                self.cdp.send("Browser.close")
            except (CDPError, OSError, websocket.WebSocketException):
                pass  # already going away
            self.cdp.close()
            self.cdp = None
        if self.process is None:
            return
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
