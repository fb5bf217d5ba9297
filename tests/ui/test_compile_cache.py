"""The app's persistent compilation cache: on when writable, off otherwise."""

from __future__ import annotations

import stat

import jax
import pytest

from playground.core import compile_cache


@pytest.fixture(autouse=True)
def _restore_cache_dir():
    before = jax.config.jax_compilation_cache_dir
    yield
    jax.config.update("jax_compilation_cache_dir", before)


def test_enable_points_jax_at_a_writable_directory(tmp_path):
    target = tmp_path / "xla"
    assert compile_cache.enable(target) == target
    assert target.is_dir()
    assert jax.config.jax_compilation_cache_dir == str(target)


def test_off_and_unwritable_directories_leave_jax_alone(tmp_path, monkeypatch):
    before = jax.config.jax_compilation_cache_dir
    monkeypatch.setenv(compile_cache.ENV, "off")
    assert compile_cache.enable() is None
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        # root may write anyway; then the cache is simply on
        result = compile_cache.enable(locked / "xla")
        if result is None:
            assert jax.config.jax_compilation_cache_dir == before
    finally:
        locked.chmod(stat.S_IRWXU)
    file_in_the_way = tmp_path / "file"
    file_in_the_way.write_text("x")
    assert compile_cache.enable(file_in_the_way / "xla") is None


def test_entries_without_an_access_time_are_dated_to_be_evicted_first(tmp_path):
    """An entry written without its -atime file broke JAX's eviction (a warning on every
    later write): enabling the cache dates such entries to the epoch."""
    target = tmp_path / "xla"
    target.mkdir()
    (target / "jit_f-abc-cache").write_bytes(b"compiled")
    (target / "jit_g-def-cache").write_bytes(b"compiled")
    (target / "jit_g-def-atime").write_bytes((5).to_bytes(8, "little"))
    assert compile_cache.enable(target) == target
    assert int.from_bytes((target / "jit_f-abc-atime").read_bytes(), "little") == 0
    assert int.from_bytes((target / "jit_g-def-atime").read_bytes(), "little") == 5  # kept
    assert compile_cache.date_orphans(target) == 0
