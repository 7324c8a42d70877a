"""A tiny Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (test helper).

Chromium reads commands from fd 3 and writes replies and events to fd 4,
each a JSON message ended by a NUL byte; no websocket, no extra package.
One :class:`Browser` per test module; :meth:`Browser.open` loads a page in
a fresh tab and records its network requests and console errors.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars")


def find_chromium() -> str | None:
    """The Chromium binary: $GRADER_CHROMIUM, else ``chromium`` on PATH, else Debian's path."""
    for cand in (os.environ.get("GRADER_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


class CDPError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


@dataclass
class Page:
    """What happened while a page loaded in its own tab."""

    browser: "Browser"
    session: str
    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.call(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (DevTools bypasses the page's CSP)."""
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise CDPError(f"evaluation failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self, path: Path, width: int = 1000) -> Path:
        """A full-page PNG screenshot written to ``path``."""
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=min(height, 16000),
                  deviceScaleFactor=1, mobile=False)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.browser.targets.pop(self.session)})


class Browser:
    """A headless Chromium driven through the DevTools pipe."""

    def __init__(self, binary: str, profile: Path, timeout: float = 30.0) -> None:
        self.timeout = timeout
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # the browser expects the pipe on fds 3 and 4; copy them above 10 first so dup2 cannot clobber.
        # posix_spawn wires them without running Python code in the child (safe with threads).
        hi_r, hi_w = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        argv = [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_DUP2, hi_r, 3), (os.POSIX_SPAWN_DUP2, hi_w, 4)]
        for fd in (self._to_child, self._from_child):
            os.set_inheritable(fd, False)
        self.pid = os.posix_spawn(binary, argv, dict(os.environ), file_actions=actions, setpgroup=0)
        for fd in (to_child_r, from_child_w, hi_r, hi_w):
            os.close(fd)
        self._buf = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.targets: dict[str, str] = {}

    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._to_child, json.dumps(message).encode() + b"\0")

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise CDPError("timed out waiting for the browser")
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                raise CDPError("the browser closed the pipe (it exited)")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and wait for its reply; events that arrive meanwhile are kept."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._send(msg)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _drain(self, page: Page, until: str | None = None, seconds: float = 0.0) -> None:
        """Record the page's events; stop after ``until`` arrives (then wait ``seconds`` more)."""
        deadline = time.monotonic() + self.timeout
        quiet_until: float | None = None if until else time.monotonic() + seconds
        while True:
            while self._events:
                ev = self._events.pop(0)
                if ev.get("sessionId") != page.session:
                    continue
                method, p = ev.get("method"), ev.get("params", {})
                if method == "Network.requestWillBeSent":
                    page.requests.append(p["request"]["url"])
                elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                    page.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                        for a in p.get("args", [])))
                elif method == "Runtime.exceptionThrown":
                    page.console_errors.append(str(p["exceptionDetails"].get("text")))
                elif method == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
                    page.console_errors.append(p["entry"].get("text", ""))
                if until and method == until and quiet_until is None:
                    quiet_until = time.monotonic() + seconds
            now = time.monotonic()
            if quiet_until is not None and now >= quiet_until:
                return
            if now > deadline:
                raise CDPError(f"timed out waiting for {until}")
            try:
                self._events.append(self._read(min(deadline, quiet_until or deadline)))
            except CDPError:
                if quiet_until is None:
                    raise

    def open(self, url: str, dark: bool = False, media: str = "") -> Page:
        """Load ``url`` in a new tab with the colour scheme given; returns once it has loaded."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.targets[session] = target
        page = Page(self, session, url)
        for domain in ("Page", "Network", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setEmulatedMedia", media=media,
                  features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
        page.call("Page.navigate", url=url)
        self._drain(page, until="Page.loadEventFired", seconds=0.3)
        return page

    def close(self) -> None:
        """Ask the browser to quit; kill it if it does not."""
        try:
            self.call("Browser.close")
        except (CDPError, OSError):
            pass
        deadline = time.monotonic() + 5
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.killpg(self.pid, signal.SIGKILL)  # the browser's own process group: it and its helpers
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        os.close(self._to_child)
        os.close(self._from_child)
