"""``python -m playground.classroom``: one app replica per core behind Debian's nginx.

Starts the launcher as a teacher would (two replicas, the warm-up off to keep the test
short), opens browserless sessions through its proxy (``benchmarks/headless_clients``:
Streamlit's websocket and the frame channel, each with its own route cookie), and checks
that the replicas are pinned to different cores, that both serve sessions, that a
session plays with its frames on the channel through nginx, and that stopping the
launcher stops every process it started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.headless_clients import Client, children
from benchmarks.instant import cpu_seconds
from benchmarks.live_fps import ROOT, free_port
from playground import classroom
from tests.e2e.test_replicas import _wait_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("e2e")]


def test_the_proxy_config_names_every_replica_and_nginx_accepts_it(tmp_path: Path) -> None:
    text = classroom.nginx_config(9000, [7001, 7002, 7003], tmp_path, "127.0.0.1")
    assert [f"server 127.0.0.1:{p};" in text for p in (7001, 7002, 7003)] == [True] * 3
    assert [f'"127.0.0.1:{p}" "127.0.0.1:{p}";' in text for p in (7001, 7002, 7003)] == [
        True] * 3  # each replica a known route
    assert "127.0.0.1:8501;" not in text and "127.0.0.1:8502;" not in text
    assert "listen 127.0.0.1:9000;" in text and "/tmp/nn_playground_nginx" not in text
    assert "zone nn_playground" in text and "proxy_pass http://$nnp_backend;" in text
    with pytest.raises(ValueError):  # nothing but an IP address reaches the config
        classroom.nginx_config(9000, [7001], tmp_path, "127.0.0.1:1; location / {")
    assert "listen [::1]:9000;" in classroom.nginx_config(9000, [7001], tmp_path, "::1")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    assert classroom.nginx(), "nginx is missing: ./dev test installs Debian's nginx"
    check = subprocess.run([classroom.nginx(), "-t", "-c", str(conf), "-e",
                            str(tmp_path / "error.log")], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stderr


def _allowed_cpus(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return ""


def _wait_for_line(log: Path, text: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.time() + seconds
    while text not in log.read_text(errors="replace"):
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.time() < deadline, f"no {text!r} after {seconds} s"
        time.sleep(0.2)


def test_the_launcher_refuses_what_would_break_the_replicas(tmp_path: Path) -> None:
    """One clear message, before anything starts: a replica's own options, more replicas
    than cores, an address that is not one, a port in use."""
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "playground.classroom", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "NN_PLAYGROUND_WARMUP": "off"})

    out = run("--server.address", "0.0.0.0")
    assert out.returncode == 2 and "--server.address: use --port and --address" in out.stderr
    out = run("--replicas", str(len(classroom.cores()) + 1))
    assert out.returncode == 2 and "one per core" in out.stderr
    out = run("--address", "example.org")
    assert out.returncode == 2 and "must be an IP address" in out.stderr
    if len(classroom.cores()) > 1:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            out = run("--replicas", "2", "--address", "127.0.0.1", "--port", str(port))
        assert out.returncode == 1 and f"Port {port} is taken" in out.stderr
        assert "Traceback" not in out.stderr


def test_sessions_spread_over_pinned_replicas_and_stop_with_the_launcher(
        tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "NN_PLAYGROUND_WARMUP": "off", "PYTHONPATH": str(ROOT)}
    log = tmp_path / "launcher.log"
    with log.open("w") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "playground.classroom", "--replicas", "2", "--port",
             str(port), "--address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    started: dict[int, str] = {}
    try:
        _wait_for_line(log, "2 replicas", launcher, 150)  # printed once nginx listens
        started = children(launcher.pid)
        replicas = [pid for pid, cmd in started.items() if "playground.serve" in cmd]
        assert len(replicas) == 2 and any("nginx" in cmd for cmd in started.values())
        pinned = [_allowed_cpus(pid) for pid in replicas]
        if len(classroom.cores()) > 1:
            assert len(set(pinned)) == 2 and all("," not in c and "-" not in c
                                                  for c in pinned), pinned
        url = f"http://127.0.0.1:{port}"
        before = [cpu_seconds(pid) for pid in replicas]
        # Browsers: each gets its route with the page (a script run on its replica)
        clients = [Client(url) for _ in range(14)]

        async def visit() -> None:
            for client in clients:
                await client.open()
            await clients[0].play()  # frames on the channel, through nginx
            deadline = time.perf_counter() + 30
            while clients[0].channel_frames < 20 and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.gather(*(c.close() for c in clients))

        asyncio.run(visit())
        assert clients[0].channel_frames >= 20, clients[0].frames  # not through Streamlit
        used = [cpu_seconds(pid) - b for pid, b in zip(replicas, before, strict=True)]
        assert min(used) > 0.2, f"CPU seconds each replica spent: {used}"
        # new browsers are dealt to the replicas in turn: 7 each
        routes = [c.cookie for c in clients]
        assert sorted(routes.count(r) for r in set(routes)) == [7, 7], routes
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(30)
    assert launcher.returncode == 0, log.read_text(errors="replace")[-3000:]
    assert started and not [pid for pid in started if _alive(pid)], \
        "a replica or nginx outlived the launcher"


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_route_to_a_stopped_replica_is_dropped_with_a_word(tmp_path: Path) -> None:
    """A student whose replica stopped (a manual deployment of ``deploy/nginx.conf``) is
    told to reload and loses the stale route, so the reload goes to a live replica."""
    import http.server
    import threading
    import urllib.error
    import urllib.request

    live = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                           http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=live.serve_forever, daemon=True).start()
    alive = live.server_address[1]
    gone, port = free_port(), free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(classroom.nginx_config(port, [gone, alive], tmp_path, "127.0.0.1"),
                    encoding="utf-8")
    assert classroom.nginx(), "nginx is missing: ./dev test installs Debian's nginx"
    proxy = subprocess.Popen([classroom.nginx(), "-c", str(conf), "-e",
                              str(tmp_path / "error.log"), "-g", "daemon off;"],
                             stderr=subprocess.PIPE)
    try:
        _wait_port(port, proxy)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/",
                                         headers={"Cookie": f"nnp_route=127.0.0.1:{gone}"})
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=10)
        assert answer.value.code == 503
        assert "Reload the page" in answer.value.read().decode()
        assert "nnp_route=; Path=/; Max-Age=0" in answer.value.headers["Set-Cookie"]
        # New browsers: the turn that falls on the stopped replica is retried on the
        # live one, and the route names the live one alone (not both addresses)
        for _ in range(2):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as ok:
                assert ok.headers["Set-Cookie"].startswith(f"nnp_route=127.0.0.1:{alive};")
    finally:
        proxy.terminate()
        proxy.wait(10)
        live.shutdown()
