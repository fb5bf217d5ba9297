"""Two app replicas behind Debian's nginx with sticky sessions (``deploy/nginx.conf``).

Starts two app servers and nginx on loopback with the repository's config (its ports
and paths swapped for free ones, plus a header naming the replica that answered), opens
a browser session on each replica through the proxy, and checks that every request of a
session (page, websocket, upload) reaches its own replica, that each session keeps its
state, and that both replicas serve.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from benchmarks.live_fps import ROOT, app_server, free_port, wait_live
from tests.e2e.test_playground import GOOD_CSV

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("e2e")]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _config(tmp: Path, port: int, replicas: tuple[int, int]) -> Path:
    text = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    text = (text.replace("listen 8080;", f"listen 127.0.0.1:{port};")
            .replace("127.0.0.1:8501", f"127.0.0.1:{replicas[0]}")
            .replace("127.0.0.1:8502", f"127.0.0.1:{replicas[1]}")
            .replace("/tmp/nn_playground_nginx", str(tmp / "nginx"))
            .replace("add_header Set-Cookie $nnp_set_route;",
                     "add_header Set-Cookie $nnp_set_route;\n"
                     "            add_header X-Replica $upstream_addr always;"))
    assert f"127.0.0.1:{replicas[1]}" in text and f"listen 127.0.0.1:{port};" in text
    assert "X-Replica" in text
    conf = tmp / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def _wait_port(port: int, proc: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[tuple[str, tuple[str, str]]]:
    """nginx's URL, and the two replicas' addresses as nginx names them."""
    assert Path(NGINX).exists(), "nginx is missing: ./dev test installs Debian's nginx"
    tmp = tmp_path_factory.mktemp("replicas")
    tmp.chmod(0o777)  # nginx's workers may run as another user
    secret = {"STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(16)}  # one for both
    ports = free_port(), free_port()
    with app_server(ports[0], env=secret), app_server(ports[1], env=secret):
        port = free_port()
        proc = subprocess.Popen([NGINX, "-c", str(_config(tmp, port, ports)), "-g",
                                 "daemon off;"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            _wait_port(port, proc)
            yield f"http://127.0.0.1:{port}", tuple(f"127.0.0.1:{p}" for p in ports)
        finally:
            proc.terminate()
            proc.wait(10)


def test_two_replicas_each_keep_their_sessions(browser, proxy, shots: Path) -> None:
    url, replicas = proxy
    # New browsers get a random route: take contexts until one lands on each replica.
    contexts: dict[str, object] = {}
    spare = []
    for _ in range(16):
        ctx = browser.new_context(viewport={"width": 1400, "height": 950})
        first = ctx.request.get(url + "/_stcore/health")
        assert "nnp_route=" in first.headers.get("set-cookie", "")  # a route is given ...
        replica = first.headers["x-replica"]
        again = ctx.request.get(url + "/_stcore/health")
        assert "nnp_route=" not in again.headers.get("set-cookie", "")  # ... once, and kept
        assert replica in replicas and again.headers["x-replica"] == replica
        if replica in contexts:
            spare.append(ctx)
        else:
            contexts[replica] = ctx
        if len(contexts) == 2:
            break
    assert sorted(contexts) == sorted(replicas), "every browser went to one replica"

    pages = {}
    for steps, (replica, ctx) in enumerate(sorted(contexts.items()), start=1):
        page = ctx.new_page()
        seen: set[str] = set()
        page.on("response", lambda r, seen=seen: seen.add(r.headers.get("x-replica", "")))
        page.goto(url + "/")
        wait_live(page)
        for _ in range(steps):  # a different state in each session
            before = page.get_by_test_id("epoch-counter").text_content()
            page.get_by_role("button", name="Step").click()
            expect(page.get_by_test_id("epoch-counter")).not_to_have_text(before or "")
        pages[replica] = (page, seen, str(steps))

    # An upload is its own HTTP request: it must reach the replica holding the session.
    page, _, _ = pages[replicas[0]]
    page.locator("input[type=file]").set_input_files(files=[{
        "name": "good.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}])
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("40 rows")
    page.screenshot(path=shots / "replicas_upload.png", full_page=False)

    other, _, steps = pages[replicas[1]]
    time.sleep(1.0)
    expect(other.get_by_test_id("epoch-counter")).to_have_text(steps)  # state kept
    for replica, (_page, seen, _) in pages.items():
        assert seen - {""} == {replica}, f"a session's requests went to {seen}"
    for ctx in [*contexts.values(), *spare]:
        ctx.close()


def test_a_forged_route_gets_a_fresh_one(browser, proxy) -> None:
    """Only a well-formed route cookie is used (and never echoed back)."""
    url, _ = proxy
    ctx = browser.new_context()
    ctx.add_cookies([{"name": "nnp_route", "value": "evil-replica-pick", "url": url}])
    r = ctx.request.get(url + "/_stcore/health")
    assert r.ok
    cookie = r.headers.get("set-cookie", "")
    assert "nnp_route=" in cookie and "evil" not in cookie
    ctx.close()
