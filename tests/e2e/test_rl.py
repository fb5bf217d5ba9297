"""End-to-end: the Reinforcement learning page in a real browser."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]  # one browser at a time

MIN_FRAMES = 5  # in 5 s: it plays live. Its speed (goal 20 frames/s) is measured by
# ``benchmarks/live_fps.py --rl``, not here, where CI's other worker shares the cores.


# Pixels of a canvas in the curves' dark grey (PALETTE.TRAIN, #555): the axes' labels
# and grid are lighter.
DARK_PIXELS = """sel => {
  const c = document.querySelector(sel);
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (d[i + 3] > 200 && d[i] < 100 && Math.abs(d[i] - d[i + 1]) < 8
        && Math.abs(d[i] - d[i + 2]) < 8) n++;
  return n;
}"""


def _frame(page) -> int:
    return int(page.get_by_test_id("rl-view").get_attribute("data-frame") or 0)


def _steps(page) -> int:
    return int(page.get_by_test_id("epoch-counter").text_content() or 0)


def _wait_for_frames(page, timeout: float = 120.0) -> None:
    """Until 5 frames arrive within 2 s. The tests' servers have no warm-up, so the
    first Play compiles the DQN's loop (3-8 s here, more in CI beside the other worker),
    and frames come slowly meanwhile; the live check starts after that."""
    deadline = time.time() + timeout
    seen = [(time.time(), _frame(page))]
    while time.time() < deadline:
        time.sleep(0.2)
        now, frame = time.time(), _frame(page)
        seen = [(t, f) for t, f in seen if now - t <= 2.0] + [(now, frame)]
        if frame - seen[0][1] >= 5:
            return


def test_play_learns_live_and_the_view_reads(page, base_url, shots):
    page.goto(f"{base_url}/rl")
    page.get_by_test_id("rl-view").wait_for(timeout=90_000)
    page.screenshot(path=str(shots / "60_rl_start.png"))
    page.get_by_role("button", name="Play").click()
    page.get_by_role("button", name="Pause").wait_for(timeout=60_000)
    _wait_for_frames(page)  # the first Play compiles the network's loop (once)
    f0, s0, t0 = _frame(page), _steps(page), time.perf_counter()
    time.sleep(5.0)
    f1, s1, dt = _frame(page), _steps(page), time.perf_counter() - t0
    fps = (f1 - f0) / dt
    print(f"\nRL page: {fps:.1f} frames/s, {(s1 - s0) / dt:.0f} environment steps/s")
    assert f1 - f0 >= MIN_FRAMES and s1 > s0, fps
    time.sleep(8.0)  # enough learning for the curves and maps to show something
    page.screenshot(path=str(shots / "61_rl_learning.png"))
    page.get_by_test_id("rl-returns").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "62_rl_curves.png"))
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)
    time.sleep(1.0)  # the rerun after Pause draws one last frame
    frame = _frame(page)
    time.sleep(1.5)
    assert _frame(page) == frame  # paused: no more server frames
    # the cart still moves: the episode is replayed in the browser between frames. An
    # early episode lasts 0.1-0.3 s of replay, then its last state holds for 0.9 s
    # (RL_HOLD), so look over more than one whole cycle, not at two moments 0.3 s apart
    # (which both fell in a hold in one CI run).
    cart, seen, deadline = page.get_by_test_id("rl-cart"), set(), time.time() + 3.0
    while len(seen) < 2 and time.time() < deadline:
        seen.add(cart.screenshot())
        time.sleep(0.05)
    assert len(seen) >= 2, "the cart stood still for 3 s while paused"
    assert page.evaluate(DARK_PIXELS, ".rl-loss") > 50  # the TD loss curve


def test_the_first_loss_shows_before_the_curve_has_two_points(page, base_url):
    """Two Steps: the first chunk learns nothing (the replay buffer fills), the second
    learns; its one TD loss shows as a dot (it once left the chart empty)."""
    page.goto(f"{base_url}/rl")
    page.get_by_test_id("rl-view").wait_for(timeout=90_000)
    step = page.get_by_role("button", name="Step", exact=True)
    for _ in range(2):
        before, deadline = _steps(page), time.time() + 120
        step.click()
        while _steps(page) == before and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
    updates = page.get_by_test_id("rl-view").locator(".rl-updates").inner_text()
    assert int(updates) > 0, updates
    assert page.evaluate(DARK_PIXELS, ".rl-loss") > 8


def test_a_link_opens_its_setup(page, base_url):
    page.goto(f'{base_url}/rl?rl={{"hidden":[32,32],"learning_rate":0.003}}')
    page.get_by_test_id("rl-view").wait_for(timeout=90_000)
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("combobox", name="Hidden layers").input_value() == "32, 32 units"
    assert "0.003" in sidebar.inner_text()  # the learning rate's slider
    assert "learning_rate" in page.url  # the link stays the page's address
