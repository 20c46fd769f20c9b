"""Behind a real HAProxy (Debian's package) listed in ASSISTANT_TRUSTED_PROXIES, each user
has a budget of their own, and what a user writes into X-Forwarded-For changes nothing.

Loopback has a whole /8: users connect from 127.0.0.3 and 127.0.0.4, HAProxy reaches the
server from 127.0.0.2 (the trusted proxy), so the server tells them apart by address."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import httpx
import pytest

from tests.browser_support import LiveServer, free_port

pytestmark = pytest.mark.slow

PROXY, ALICE, BOB, MALLORY = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
BURST = 3


def _haproxy() -> str:
    found = shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)),
        None)
    if found is None:
        message = "haproxy not installed: apt-get install -y haproxy (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def test_a_trusted_proxy_gives_each_user_their_own_budget(tiny_index, tmp_path):
    binary = _haproxy()
    _, index = tiny_index
    server = LiveServer({"ASSISTANT_INDEX_DIR": str(index),
                         "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
                         "ASSISTANT_THRESHOLDS_FILE": str(tmp_path / "none.json"),
                         "ASSISTANT_RATE_LIMIT_PER_MINUTE": "60",
                         "ASSISTANT_RATE_LIMIT_BURST": str(BURST),
                         "ASSISTANT_TRUSTED_PROXIES": json.dumps([PROXY])},
                        tmp_path / "server.log")
    lb_port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(f"""
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend users
    bind 127.0.0.1:{lb_port}
    option forwardfor
    default_backend assistant
backend assistant
    server one 127.0.0.1:{server.port} source {PROXY}
""", "utf-8")
    balancer = subprocess.Popen([binary, "-db", "-f", str(config)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    lb = f"http://127.0.0.1:{lb_port}/categories"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{lb_port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "haproxy did not start"
                time.sleep(0.2)
        with _client(ALICE) as alice, _client(BOB) as bob, _client(MALLORY) as mallory:
            # Alice invents a new X-Forwarded-For each time: HAProxy appends her address
            alice_codes = [alice.get(lb, headers={"X-Forwarded-For": f"198.51.100.{i}"})
                           .status_code for i in range(BURST + 2)]
            bob_codes = [bob.get(lb).status_code for _ in range(BURST)]
            # straight to the server, not through the proxy: the header is not believed
            direct = f"{server.url}/categories"
            mallory_codes = [mallory.get(direct, headers={"X-Forwarded-For": f"192.0.2.{i}"})
                             .status_code for i in range(BURST + 2)]
    finally:
        balancer.terminate()
        balancer.wait(timeout=10)
        server.stop()
    assert alice_codes == [200] * BURST + [429] * 2
    assert bob_codes == [200] * BURST  # not the proxy's shared budget
    assert mallory_codes == [200] * BURST + [429] * 2
