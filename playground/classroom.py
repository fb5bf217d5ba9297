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
(``benchmarks/headless_clients.py --sessions 30 --replicas 2``): two pinned replicas
with 15 browserless sessions each drew 16.2-18.2 frames/s for every one of the 30, at
2.8 ms of CPU a frame.

Without nginx, or with ``--replicas 1`` (the default on one core), it starts the single
server ``./dev app`` starts. Each replica stops with the launcher, even one killed
outright; if a replica or nginx stops by itself, the launcher says which and stops the
rest.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ipaddress
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
    """``deploy/nginx.conf`` for a proxy on ``port`` (on the IP address ``host``: all
    interfaces when empty) in front of replicas on loopback ``replicas`` ports, its files
    in ``workdir``. Raises ValueError for a ``host`` that is not an IP address, or if the
    file no longer has the lines this adapts."""
    text = CONFIG.read_text(encoding="utf-8")
    servers = "".join(f"        server 127.0.0.1:{p};\n" for p in replicas)
    text, n_servers = re.subn(r"(?:        server 127\.0\.0\.1:\d+;\n)+", servers, text)
    routes = "".join(f'        "127.0.0.1:{p}" "127.0.0.1:{p}";\n' for p in replicas)
    text, n_routes = re.subn(r'(?:        "127\.0\.0\.1:\d+" "127\.0\.0\.1:\d+";\n)+',
                             routes, text)
    listen = f"{_bracketed(host)}:{port}" if host else str(port)
    text, n_listen = re.subn(r"listen 8080;", f"listen {listen};", text)
    text = text.replace("/tmp/nn_playground_nginx", str(workdir / "nginx"))
    if n_servers != 1 or n_routes != 1 or n_listen != 1:
        raise ValueError(f"{CONFIG} has changed: its upstream servers, routes or listen "
                         "line were not found")
    return text


def _bracketed(host: str) -> str:
    """``host`` as nginx's ``listen`` and a URL write it (IPv6 in brackets); ValueError
    unless it is an IP address (nothing else reaches the config file)."""
    ip = ipaddress.ip_address(host)
    return f"[{ip}]" if ip.version == 6 else str(ip)


def _connect_host(address: str) -> str:
    """Where to check that the proxy listens: its address, or loopback for all."""
    if not address or ipaddress.ip_address(address).is_unspecified:
        return "::1" if address and ipaddress.ip_address(address).version == 6 \
            else "127.0.0.1"
    return address


def _port_free(address: str, port: int) -> bool:
    family = socket.AF_INET6 if address and ipaddress.ip_address(address).version == 6 \
        else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx binds it
        try:
            s.bind((address or "0.0.0.0", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(host: str, port: int, procs: dict[str, subprocess.Popen],
               seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5):
            return
        _check(procs)
        time.sleep(0.2)
    raise RuntimeError(f"nothing listened on port {port} after {seconds:.0f} s")


def _check(procs: dict[str, subprocess.Popen]) -> None:
    for name, proc in procs.items():
        if proc.poll() is not None:
            raise RuntimeError(f"{name} stopped (exit code {proc.returncode})")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _child_setup(core: set[int] | None) -> Callable[[], None]:
    """In the child before it runs: its core, and SIGTERM when the launcher dies (even
    killed outright: no replica outlives it)."""
    def setup() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if core and hasattr(os, "sched_setaffinity"):  # (not on macOS: unpinned there)
            os.sched_setaffinity(0, core)
    return setup


_PR_SET_PDEATHSIG = 1
OWN_OPTIONS = ("--server.port", "--server.address", "--server.headless")
"""Streamlit options the launcher sets for each replica (a later one would win)."""


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
    if not _port_free(address, port):
        print(f"Port {port} is taken: stop what uses it, or pick another with --port.",
              file=sys.stderr)
        return 1
    env = {**os.environ}
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(16))  # one for all
    ports = [_free_port() for _ in range(replicas)]
    cpus = cores()
    procs: dict[str, subprocess.Popen] = {}
    old = signal.signal(signal.SIGTERM, _interrupt)  # stopped as Ctrl+C stops it
    with tempfile.TemporaryDirectory(prefix="nn_playground_classroom_") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # nginx's workers may run as another user
        try:
            for i, p in enumerate(ports):
                procs[f"replica {i + 1} (port {p})"] = subprocess.Popen(
                    [sys.executable, "-m", "playground.serve", *streamlit_args,
                     "--server.port", str(p), "--server.address", "127.0.0.1",
                     "--server.headless", "true"],
                    cwd=ROOT, env=env, preexec_fn=_child_setup({cpus[i % len(cpus)]}),
                    stdout=subprocess.DEVNULL)  # its own "view it at" URL bypasses nginx
            for p in ports:
                _wait_port("127.0.0.1", p, procs, 120)
            conf = workdir / "nginx.conf"
            conf.write_text(nginx_config(port, ports, workdir, address), encoding="utf-8")
            procs["nginx"] = subprocess.Popen(
                [proxy, "-c", str(conf), "-e", str(workdir / "nginx.error.log"),
                 "-g", "daemon off;"], preexec_fn=_child_setup(None))
            _wait_port(_connect_host(address), port, procs, 20)
            print(f"NN Playground for a classroom: {replicas} replicas (one per core) "
                  f"behind nginx on port {port}. Open http://<this-host>:{port}",
                  flush=True)
            while True:
                _check(procs)
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        except RuntimeError as err:  # a replica or nginx stopped by itself
            print(f"NN Playground for a classroom stopped: {err}.", file=sys.stderr)
            log = workdir / "nginx.error.log"
            if log.exists() and log.stat().st_size:
                print(log.read_text(errors="replace")[-2000:], file=sys.stderr)
            return 1
        finally:
            signal.signal(signal.SIGTERM, old)
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", type=int, default=min(len(cores()), MAX_REPLICAS),
                    help="app servers, one per core (default and most: this machine's "
                    "cores)")
    ap.add_argument("--port", type=int, default=8501, help="the port students open")
    ap.add_argument("--address", default="", help="the IP address to listen on (default: "
                    "all)")
    args, rest = ap.parse_known_args(argv)
    limit = min(len(cores()), MAX_REPLICAS)
    if not 1 <= args.replicas <= limit:
        ap.error(f"--replicas must be between 1 and {limit} (one per core: two on a core "
                 "would each pace themselves for the whole core)")
    if args.address:
        try:
            _bracketed(args.address)
        except ValueError:
            ap.error(f"--address must be an IP address, got {args.address!r}")
    if not 1 <= args.port <= 65535:
        ap.error("--port must be between 1 and 65535")
    own = [a for a in rest if a.split("=", 1)[0] in OWN_OPTIONS]
    if own:
        ap.error(f"{', '.join(own)}: use --port and --address (the launcher sets each "
                 "replica's own)")
    return serve(args.replicas, args.port, args.address, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
