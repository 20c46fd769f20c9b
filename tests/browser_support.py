"""A real server process and headless Chromium, for tests that use the pages as a person would.

`LiveServer` runs `assistant serve` on a free loopback port with the environment it is given;
`launch_chromium` starts Debian's /usr/bin/chromium through Playwright (never a downloaded
browser). The fixtures in tests/conftest.py (`live_server`, `browser`, `page`) build on these,
so any test file can drive the pages.

Without Chromium or Playwright the browser tests are skipped with the install command, except
under CI (CI=true), where they fail: a CI run must not pass without having run them.
"""

from __future__ import annotations

import json

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL_HINT = ("install it with `apt-get update && apt-get install -y chromium` (as root) and "
                "`scripts/setup-env test` (Playwright); .ci/run does both")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_browser() -> None:
    """Skip (or, under CI, fail) when Chromium or Playwright is missing."""
    problem = None
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        problem = f"Chromium not found at {CHROMIUM}"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed"
    if problem:
        message = f"{problem}; {INSTALL_HINT}"
        if in_ci():
            pytest.fail(f"browser tests must run under CI: {message}", pytrace=False)
        pytest.skip(message)


def launch_chromium(playwright):
    """Headless Debian Chromium (Playwright's own browser downloads are not used)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class LiveServer:
    """`assistant serve` in a subprocess on 127.0.0.1 and a free port; `url` once ready."""

    def __init__(self, env: dict[str, str], log_path: Path, timeout: float = 180) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(self.port)],
            env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"server not ready at {self.url} after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


#: The agent who signs in to the console in page tests.
AGENT_NAME, AGENT_TOKEN = "alice", "page-test-agent-token-0123456789"


def server_env(index_dir: Path, data_dir: Path, **extra: str) -> dict[str, str]:
    """ASSISTANT_* variables for a test server on `index_dir` (no rate limit: tests type fast;
    one agent, so the console and the agent API work)."""
    return {"ASSISTANT_INDEX_DIR": str(index_dir), "ASSISTANT_DATA_DIR": str(data_dir),
            "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0", "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "ASSISTANT_AGENT_TOKENS": json.dumps({AGENT_NAME: AGENT_TOKEN}), **extra}
