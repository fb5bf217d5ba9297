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
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.headless_clients import Client
from benchmarks.instant import cpu_seconds
from benchmarks.live_fps import ROOT, free_port
from playground import classroom

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("e2e")]


def test_the_proxy_config_names_every_replica_and_nginx_accepts_it(tmp_path: Path) -> None:
    text = classroom.nginx_config(9000, [7001, 7002, 7003], tmp_path, "127.0.0.1")
    assert [f"server 127.0.0.1:{p};" in text for p in (7001, 7002, 7003)] == [True] * 3
    assert "127.0.0.1:8501;" not in text and "127.0.0.1:8502;" not in text
    assert "listen 127.0.0.1:9000;" in text and "/tmp/nn_playground_nginx" not in text
    assert "hash $nnp_route consistent;" in text  # the sticky routing is kept
    conf = tmp_path / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    check = subprocess.run([classroom.nginx(), "-t", "-c", str(conf), "-e",
                            str(tmp_path / "error.log")], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stderr


def _children(pid: int) -> dict[int, str]:
    """Processes whose parent is ``pid``: their command lines."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == pid:
                found[int(entry)] = Path(f"/proc/{entry}/cmdline").read_text().replace(
                    "\0", " ")
        except OSError:
            continue
    return found


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
    children: dict[int, str] = {}
    try:
        _wait_for_line(log, "2 replicas", launcher, 150)  # printed once nginx listens
        children = _children(launcher.pid)
        replicas = [pid for pid, cmd in children.items() if "playground.serve" in cmd]
        assert len(replicas) == 2 and any("nginx" in cmd for cmd in children.values())
        pinned = [_allowed_cpus(pid) for pid in replicas]
        if len(classroom.cores()) > 1:
            assert len(set(pinned)) == 2 and all("," not in c and "-" not in c
                                                  for c in pinned), pinned
        url = f"http://127.0.0.1:{port}"
        before = [cpu_seconds(pid) for pid in replicas]
        # Browsers, each with its own route: each page is a script run on its replica
        clients = [Client(url, cookie=f"nnp_route={secrets.token_hex(16)}")
                   for _ in range(14)]

        async def visit() -> None:
            for client in clients:
                await client.open()
            await clients[0].play()  # frames on the channel, through nginx
            start = clients[0].frames
            deadline = time.perf_counter() + 30
            while clients[0].frames < start + 20 and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.gather(*(c.close() for c in clients))

        asyncio.run(visit())
        assert clients[0].frames >= 21 and clients[0]._channel is not None
        assert getattr(clients[0], "_frames_socket", None) is not None  # the channel
        used = [cpu_seconds(pid) - b for pid, b in zip(replicas, before, strict=True)]
        # (1 in 8192 that all fourteen routes hash to one replica)
        assert min(used) > 0.2, f"CPU seconds each replica spent: {used}"
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(30)
    assert launcher.returncode == 0, log.read_text(errors="replace")[-3000:]
    assert children and not [pid for pid in children if _alive(pid)], \
        "a replica or nginx outlived the launcher"


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
