"""Memory of the app server with 1, 2, ... sessions that have each played for a while.

Starts the app, opens N browser sessions one after another (headless Debian Chromium),
presses Play in each for a few seconds, and prints the server's resident memory.
DESIGN's targets: <= 500 MB for one session, <= 50 MB for each extra one.

With ``--structures N`` it instead opens N links to N different networks (no click:
each link compiles a new structure) and prints the memory every 10 links: the
compiled-network cache must keep it bounded.

    python benchmarks/server_memory.py [--sessions 3] [--seconds 6] [--json]
    python benchmarks/server_memory.py --structures 60
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from benchmarks.live_fps import app_server, launch, wait_live


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux)."""
    with open(f"/proc/{pid}/status") as fh:
        line = next(row for row in fh if row.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def measure(sessions: int = 3, seconds: float = 6.0) -> dict:
    from playwright.sync_api import sync_playwright

    rows = []
    with app_server(with_process=True) as (url, proc), sync_playwright() as p:
        browser = launch(p)
        for _n in range(sessions):
            page = browser.new_context(viewport={"width": 1400, "height": 950}).new_page()
            page.goto(url + "/")
            wait_live(page)
            page.get_by_role("button", name="Play").click()
            time.sleep(seconds)
            page.get_by_role("button", name="Pause").click()
            time.sleep(1.0)
            rows.append(round(rss_mb(proc.pid), 1))
        browser.close()
    extra = [b - a for a, b in itertools.pairwise(rows)]
    return {"rss_mb_by_sessions": rows, "first_session_mb": rows[0],
            "max_extra_session_mb": round(max(extra), 1) if extra else None,
            "goal_first_mb": 500, "goal_extra_mb": 50}


def structures(n: int) -> dict:
    """RSS after opening links to ``n`` different networks in one browser tab."""
    import urllib.parse

    from playwright.sync_api import sync_playwright

    rows = []
    with app_server(with_process=True) as (url, proc), sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        for k in range(1, n + 1):
            spec = {"model": {"layers": [{"type": "dense", "units": k % 60 + 1,
                                          "activation": "tanh"}] * (1 + k // 60)}}
            page.goto(f"{url}/?s={urllib.parse.quote(json.dumps(spec))}")
            wait_live(page)
            page.get_by_test_id("epoch-counter").wait_for()
            if k % 10 == 0:
                rows.append([k, round(rss_mb(proc.pid), 1)])
        browser.close()
    return {"rss_mb_by_links": rows, "max_mb": max(mb for _, mb in rows)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--structures", type=int, default=0,
                    help="open this many links to different networks instead")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.structures:
        r = structures(args.structures)
        print(json.dumps(r) if args.json else "\n".join(
            f"{k} networks opened: server RSS {mb:.0f} MB" for k, mb in r["rss_mb_by_links"]))
        return 0
    r = measure(args.sessions, args.seconds)
    if args.json:
        print(json.dumps(r))
    else:
        for n, mb in enumerate(r["rss_mb_by_sessions"], 1):
            print(f"{n} session(s): server RSS {mb:.0f} MB")
        print(f"goal: <= {r['goal_first_mb']} MB for one, <= {r['goal_extra_mb']} MB each extra")
    return 0


if __name__ == "__main__":
    sys.exit(main())
