"""A headless Chromium driven over the DevTools protocol: what a page printed, loaded and showed.

Only what the report tests need: open a page in a fresh tab, wait for its load event, and return
its rendered text, its console errors (console.error, uncaught exceptions, and the browser's own
errors such as a Content-Security-Policy refusal), every request it made, and a screenshot. The
protocol is JSON over one WebSocket (``websockets``, flattened sessions); every wait is a read
with a timeout, never a sleep.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from report.browser import HEADLESS

TIMEOUT = 60.0
WIDTH, HEIGHT = 1280, 900


class DevToolsError(RuntimeError):
    """The browser answered a command with an error, or never answered."""


@dataclass
class Page:
    """What one page did while it loaded."""

    url: str
    text: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshot: bytes = b""


class Browser:
    """One Chromium process and its DevTools connection."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._last_id = 0
        self._events: list[dict[str, Any]] = []

    def _receive(self) -> dict[str, Any]:
        try:
            message: dict[str, Any] = json.loads(self._socket.recv(timeout=TIMEOUT))
        except TimeoutError as exc:
            raise DevToolsError(f"no message from the browser in {TIMEOUT} s") from exc
        return message

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        while True:
            reply = self._receive()
            if reply.get("id") != self._last_id:
                self._events.append(reply)
                continue
            if "error" in reply:
                raise DevToolsError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply.get("result", {})
            return result

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        """The first event ``method`` of ``session``, received already or next."""
        for event in self._events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        while True:
            event = self._receive()
            self._events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    def _of(self, session: str, method: str) -> list[dict[str, Any]]:
        return [
            e["params"]
            for e in self._events
            if e.get("sessionId") == session and e.get("method") == method
        ]

    def open(self, path: Path, *, full_page: bool = True) -> Page:
        """Load ``path`` in a new tab and record what it did; the tab is closed afterwards."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable", session)
            self.call(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=WIDTH,
                height=HEIGHT,
                deviceScaleFactor=1,
                mobile=False,
            )
            url = path.resolve().as_uri()
            self.call("Page.navigate", session, url=url)
            self.wait_for("Page.loadEventFired", session)
            text = self.call(
                "Runtime.evaluate",
                session,
                expression="document.body.innerText",
                returnByValue=True,
            )["result"]["value"]
            shot: dict[str, Any] = {"format": "png"}
            if full_page:
                size = self.call("Page.getLayoutMetrics", session)["cssContentSize"]
                shot["captureBeyondViewport"] = True
                shot["clip"] = {
                    "x": 0,
                    "y": 0,
                    "width": WIDTH,
                    "height": min(size["height"], 6000),
                    "scale": 1,
                }
            image = base64.b64decode(self.call("Page.captureScreenshot", session, **shot)["data"])
            return Page(
                url=url,
                text=text,
                console_errors=self._console_errors(session),
                requests=[
                    e["request"]["url"] for e in self._of(session, "Network.requestWillBeSent")
                ],
                screenshot=image,
            )
        finally:
            self.call("Target.closeTarget", targetId=target)

    def _console_errors(self, session: str) -> list[str]:
        errors = [
            " ".join(str(a.get("value", a.get("description", ""))) for a in e["args"])
            for e in self._of(session, "Runtime.consoleAPICalled")
            if e["type"] in ("error", "assert")
        ]
        errors += [
            e["exceptionDetails"].get("text", "exception")
            for e in self._of(session, "Runtime.exceptionThrown")
        ]
        errors += [
            f"{e['entry']['source']}: {e['entry']['text']}"
            for e in self._of(session, "Log.entryAdded")
            if e["entry"]["level"] == "error"
        ]
        return errors


def _drain(stream: Any) -> None:
    for _ in stream:  # keep the pipe flowing: Chromium blocks on a full stderr
        pass


@contextmanager
def chromium(executable: str) -> Iterator[Browser]:
    """Start a headless Chromium with a fresh profile; yield it connected; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="pp-chromium-") as profile:
        process = subprocess.Popen(
            [
                executable,
                *HEADLESS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            address = None
            for line in process.stderr:  # Chromium prints its address once it listens
                if line.startswith("DevTools listening on "):
                    address = line.split(" on ", 1)[1].strip()
                    break
            if address is None:
                raise DevToolsError(f"{executable} exited {process.wait()} before listening")
            threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
            with connect(address, max_size=None, open_timeout=TIMEOUT) as socket:
                yield Browser(socket)
        finally:
            process.terminate()
            try:
                process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
