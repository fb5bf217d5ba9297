"""A classroom server: one app replica per core, behind nginx with sticky sessions.

    python -m playground.classroom [--replicas N] [--port 8501] [streamlit options]
    ./dev classroom                  # the same, after installing what is missing

Streamlit runs each session's script in a thread of one Python process, and Python runs
one thread at a time: one server process carries about one core's worth of sessions,
and on two cores it did worse than on one (30 browserless sessions of the default
Playground: 5.9 ms of CPU a frame and 7.1 frames/s each, against 3.4 ms and 7.5 frames/s
with the process on a single core: its threads no longer hand the interpreter from core
to core). So this starts one replica per core (``playground.serve``, the warm-up
included), each pinned to its core, and Debian's nginx in front with
``deploy/nginx.conf``'s sticky routing: a session's page, websocket, uploads and frame
channel all reach the replica that opened it. Measured on this project's 2-core machine
(``benchmarks/instant.py --parts headless`` and ``headless_clients.py``): two pinned
replicas with 15 browserless sessions each drew 14.7-17.2 frames/s for every one of the
30, at 2.9-3.0 ms of CPU a frame.

Without nginx, or with one core, it starts the single server ``./dev app`` starts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "nginx.conf"
MAX_REPLICAS = 16
"""Each replica holds its own compiled networks: about 2 GB after its warm-up."""


def cores() -> list[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def nginx() -> str | None:
    """Debian's nginx, if installed."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def nginx_config(port: int, replicas: list[int], workdir: Path, host: str = "") -> str:
    """``deploy/nginx.conf`` for a proxy on ``port`` (on ``host``: all interfaces when
    empty) in front of replicas on loopback ``replicas`` ports, its files in ``workdir``.
    Raises ValueError if the file no longer has the lines this adapts."""
    text = CONFIG.read_text(encoding="utf-8")
    servers = "".join(f"        server 127.0.0.1:{p};\n" for p in replicas)
    text, n_servers = re.subn(r"(?:        server 127\.0\.0\.1:\d+;\n)+", servers, text)
    listen = f"{host}:{port}" if host else str(port)
    text, n_listen = re.subn(r"listen 8080;", f"listen {listen};", text)
    text = text.replace("/tmp/nn_playground_nginx", str(workdir / "nginx"))
    if n_servers != 1 or n_listen != 1:
        raise ValueError(f"{CONFIG} has changed: its upstream servers or listen line "
                         "were not found")
    return text


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, procs: list[subprocess.Popen], seconds: float) -> None:
    import socket

    deadline = time.time() + seconds
    while time.time() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a process exited (code {proc.returncode}) while "
                                   f"waiting for port {port}")
        time.sleep(0.2)
    raise TimeoutError(f"nothing listened on port {port} after {seconds} s")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def serve(replicas: int, port: int, address: str, streamlit_args: list[str]) -> int:
    """Run ``replicas`` pinned app servers and nginx until interrupted; returns the exit
    code. With one replica, or without nginx, runs the one server in this process."""
    proxy = nginx()
    if replicas <= 1 or proxy is None:
        if replicas > 1:
            print("nginx is not installed (Debian: apt-get install nginx): starting one "
                  "server.", file=sys.stderr)
        from playground import serve as single

        single.main(["--server.port", str(port),
                     *(["--server.address", address] if address else []), *streamlit_args])
        return 0
    env = {**os.environ}
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(16))  # one for all
    ports = [_free_port() for _ in range(replicas)]
    cpus = cores()
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="nn_playground_classroom_") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # nginx's workers may run as another user
        try:
            for i, p in enumerate(ports):
                core = {cpus[i % len(cpus)]}
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "playground.serve", "--server.port", str(p),
                     "--server.address", "127.0.0.1", "--server.headless", "true",
                     *streamlit_args],
                    cwd=ROOT, env=env, preexec_fn=lambda core=core: os.sched_setaffinity(
                        0, core)))
            for p in ports:
                _wait_port(p, procs, 120)
            conf = workdir / "nginx.conf"
            conf.write_text(nginx_config(port, ports, workdir, address), encoding="utf-8")
            procs.append(subprocess.Popen([proxy, "-c", str(conf), "-e",
                                           str(workdir / "nginx.error.log"),
                                           "-g", "daemon off;"]))
            _wait_port(port, procs, 20)
            print(f"NN Playground for a classroom: {replicas} replicas (one per core) "
                  f"behind nginx on port {port}. Open http://<this-host>:{port}",
                  flush=True)
            signal.signal(signal.SIGTERM, _interrupt)  # stopped as Ctrl+C stops it
            while all(proc.poll() is None for proc in procs):
                time.sleep(0.5)
            return 1  # a replica or nginx stopped by itself
        except KeyboardInterrupt:
            return 0
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", type=int, default=min(len(cores()), MAX_REPLICAS),
                    help="app servers, one per core (default: this machine's cores)")
    ap.add_argument("--port", type=int, default=8501, help="the port students open")
    ap.add_argument("--address", default="", help="the address to listen on (default: all)")
    args, rest = ap.parse_known_args(argv)
    if not 1 <= args.replicas <= MAX_REPLICAS:
        ap.error(f"--replicas must be between 1 and {MAX_REPLICAS}")
    return serve(args.replicas, args.port, args.address, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
