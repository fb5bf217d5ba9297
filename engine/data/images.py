"""Images: a subset of MNIST, generated shapes, and the user's own pictures.

Images are ``(n, H, W, C)`` in ``[0, 1]`` with class labels, resized to ``spec.size``
(0 keeps the native size). ``standardize`` subtracts the training images' mean pixel
and divides by their standard deviation (one number each); otherwise pixels stay in
``[0, 1]``. Everything is drawn with the spec's seed.

- ``mnist``: handwritten digits, 28 x 28 grey: 20,000 of MNIST's training images and
  2,000 of its test images (class-proportional), bundled in ``files/`` and built by
  ``scripts/build_mnist.py``. ``spec.n`` images (at most 20,000) are drawn from the
  training part, ``val_fraction`` of them for validation; the test set is always the
  2,000 test images (``train_fraction`` is not used). MNIST is by Y. LeCun, C. Cortes
  and C. J. C. Burges, licensed CC BY-SA 3.0 (``files/LICENSE_MNIST.txt``).
- ``shapes``: ``spec.n`` 16 x 16 lines, crosses, circles and squares with jitter and
  noise, made in milliseconds (a first convolution layer's filters visibly become edge
  detectors), split by the spec's fractions like points.
- ``my_images``: a .zip of one folder per class (PNG or JPEG), decoded with Pillow
  under limits (``load_image_zip``), grey or colour; ``spec.n`` of them, split likewise.
"""

from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from engine.data.base import MAX_CLASSES, DataArrays, Dataset, RawData, split_sizes
from engine.errors import DataError, SpecError
from engine.registry import Registry

FILES = Path(__file__).resolve().parent / "files"
MNIST_FILE = FILES / "mnist_subset.npz"

UPLOAD = "my_images"
"""The dataset name of the user's own images."""

MAX_ZIP_BYTES = 20_000_000
"""Most bytes of an uploaded .zip of images."""

MAX_ZIP_FILES = 5_000
"""Most entries (files and folders) an uploaded .zip may list."""

MAX_UNPACKED_BYTES = 200_000_000
"""Most bytes the entries of an uploaded .zip may unpack to (a zip bomb stops here)."""

MAX_IMAGE_PIXELS = 4096 * 4096
"""Most pixels one uploaded picture may have before it is decoded."""

MAX_ZIP_PIXELS = 100_000_000
"""Most pixels the pictures of one .zip may have together, counted from their headers
before each is decoded: 5,000 tiny files that each claim 4096 x 4096 pixels (a 1 MB
zip) would otherwise hold the server for minutes of decoding."""

MAX_JPEG_SCANS = 64
"""Most scans one JPEG picture may have: a progressive JPEG is decoded once per scan
(usually about 10), so a small file of thousands of scans would cost thousands of
decodes within the pixel budget."""

MAX_SIZE = 64
"""Largest input side the models take (``data.size``)."""

IMAGE_TYPES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class RawImages:
    """Decoded pictures of the user's own images, at one size.

    Attributes:
        x: uint8 ``(n, size, size, channels)``.
        y: int64 class ids ``(n,)``, classes in sorted folder-name order.
        class_names: the folders' names.
        resized: how many pictures had another size (all are resized to ``size``).
    """

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    resized: int = 0


@functools.cache
def mnist_pool() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bundled MNIST subset: uint8 training images ``(20000, 28, 28, 1)``, labels,
    test images ``(2000, 28, 28, 1)`` and labels."""
    with np.load(MNIST_FILE, allow_pickle=False) as npz:
        return (npz["x_train"][..., None], npz["y_train"].astype(np.int64),
                npz["x_test"][..., None], npz["y_test"].astype(np.int64))


SHAPE_NAMES = ("line", "cross", "circle", "square")


def shapes_pool(rng: np.random.Generator, n: int, noise: float, side: int = 16
                ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` drawings of lines, crosses, circles and squares, float32 ``(n, side, side, 1)``.

    Each shape has a random centre (jitter of up to a quarter of the side), size and
    orientation (lines: horizontal, vertical or diagonal); ``noise`` is the standard
    deviation of Gaussian pixel noise. Classes are balanced and in order 0..3.
    """
    counts = [n // 4 + (1 if k < n % 4 else 0) for k in range(4)]
    y = np.repeat(np.arange(4), counts)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    images = np.zeros((n, side, side), np.float32)
    centre = side / 2 - 0.5 + rng.uniform(-side / 4, side / 4, (n, 2))
    half = rng.uniform(side * 0.18, side * 0.32, n)
    turn = rng.integers(0, 4, n)
    width = 0.75
    for i in range(n):
        dy, dx = yy - centre[i, 0], xx - centre[i, 1]
        r, k = half[i], y[i]
        if k == 0:  # a line through the centre: horizontal, vertical or diagonal
            along, across = [(dx, dy), (dy, dx), ((dx + dy) / 1.414, (dx - dy) / 1.414),
                             ((dx - dy) / 1.414, (dx + dy) / 1.414)][turn[i]]
            img = (np.abs(across) < width) & (np.abs(along) <= r)
        elif k == 1:  # a plus sign
            img = ((np.abs(dy) < width) & (np.abs(dx) <= r)) | (
                (np.abs(dx) < width) & (np.abs(dy) <= r))
        elif k == 2:  # a ring
            img = np.abs(np.hypot(dx, dy) - r) < width
        else:  # a square's outline
            m = np.maximum(np.abs(dx), np.abs(dy))
            img = np.abs(m - r) < width
        images[i] = img
    images = np.clip(images + noise * rng.standard_normal(images.shape), 0.0, 1.0)
    return images[..., None].astype(np.float32), y


def _resize(x: np.ndarray, size: int) -> np.ndarray:
    """Images ``(n, H, W, C)`` resized to ``(n, size, size, C)`` (area averaging)."""
    if not size or x.shape[1:3] == (size, size):
        return x
    return np.asarray(jax.image.resize(jnp.asarray(x, jnp.float32),
                                       (x.shape[0], size, size, x.shape[3]), "linear",
                                       antialias=True))


def _check_size(spec: Any) -> None:
    if spec.size and not 4 <= spec.size <= MAX_SIZE:
        raise SpecError("data.size", f"images are 4 to {MAX_SIZE} pixels a side, not "
                                     f"{spec.size}")


@dataclass(frozen=True)
class ImageSet:
    """A pool of images to draw ``spec.n`` from (``mnist``, ``shapes``, ``my_images``).

    Attributes:
        source: ``"mnist"``, ``"shapes"`` or ``"upload"``.
        side: the native side of the pictures (the upload's is the spec's size).
    """

    source: str
    side: int
    task: ClassVar[str] = "classification"
    family: ClassVar[str] = "images"

    @property
    def own_test_set(self) -> bool:
        """Whether the test set is fixed (MNIST's test pictures): ``train_fraction`` is
        then not used."""
        return self.source == "mnist"

    def pool(self, spec: Any, raw: RawImages | None, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """The pictures to draw from, uint8 or float ``(N, H, W, C)``, labels, names."""
        if self.source == "shapes":
            x, y = shapes_pool(rng, int(spec.n), float(spec.noise), self.side)
            return x, y, SHAPE_NAMES
        if raw is None:
            raise DataError("dataset 'my_images' needs its pictures: upload a .zip with one "
                            "folder of PNG or JPEG images per class")
        return raw.x, raw.y, raw.class_names

    def planned(self, spec: Any, raw: RawImages | None = None) -> tuple[int, int, int]:
        """What ``build`` would make of ``spec``, without making it: (training
        pictures, pictures in all splits, values per picture). An app can so refuse a
        setup too large for its memory before a single picture is drawn.

        Raises ``SpecError`` for a size out of range (as ``build`` does)."""
        _check_size(spec)
        if self.source == "mnist":
            x_pool, _, x_test, _ = mnist_pool()
            n = min(int(spec.n), len(x_pool))
            train, total, shape = n - round(n * spec.val_fraction), n + len(x_test), x_pool.shape
        else:
            own = self.source == "upload" and raw is not None  # (shapes: raw is unused)
            pool = len(raw.x) if own else 0 if self.source == "upload" else int(spec.n)
            n = min(int(spec.n), pool)
            train, total = round(n * spec.train_fraction), n
            shape = raw.x.shape if own else (0, self.side, self.side, 1)
        side = int(spec.size) or shape[1]
        return train, total, side * side * shape[3]

    def build(self, spec: Any, raw: RawImages | None = None) -> Dataset:
        """Draw ``spec.n`` images (all, if fewer), shuffle, split and resize."""
        _check_size(spec)
        rng = np.random.default_rng(spec.seed)
        if self.source == "mnist":  # MNIST's own test images are the test set
            x_pool, y_pool, x_test, y_test = mnist_pool()
            names = tuple(str(k) for k in range(10))
            n = min(int(spec.n), len(x_pool))
            n_val = round(n * spec.val_fraction)
            if n - n_val < 1:
                raise DataError(f"val_fraction {spec.val_fraction} of {n} images leaves none "
                                "to train on; lower it")
            pick = rng.permutation(len(x_pool))[:n]
            parts = [(x_pool[pick[n_val:]], y_pool[pick[n_val:]]),
                     (x_pool[pick[:n_val]], y_pool[pick[:n_val]]), (x_test, y_test)]
        else:
            x_all, y_all, names = self.pool(spec, raw, rng)
            n = min(int(spec.n), len(x_all))
            n_train, n_val, _ = split_sizes(n, spec.train_fraction, spec.val_fraction)
            pick = rng.permutation(len(x_all))[:n]
            x_all, y_all = x_all[pick], y_all[pick]
            cut = (n_train, n_train + n_val)
            parts = list(zip(np.split(x_all, cut), np.split(y_all, cut), strict=True))
        xs = [_resize(_unit(x), int(spec.size)) for x, _ in parts]
        ys = [y.astype(np.int32) for _, y in parts]
        if spec.standardize:
            mean, std = float(xs[0].mean()), float(xs[0].std()) or 1.0
        else:
            mean, std = 0.0, 1.0
        arrays = DataArrays(*(jnp.asarray(a) for pair in zip(xs, ys, strict=True)
                              for a in pair), mean=jnp.full((1,), mean, jnp.float32),
                            std=jnp.full((1,), std, jnp.float32))
        return Dataset(arrays=arrays, task="classification", n_classes=len(names),
                       input_dim=0, features=(), extent=0.0, feature_names=(),
                       class_names=tuple(names), image=tuple(int(s) for s in xs[0].shape[1:]))


def _unit(x: np.ndarray) -> np.ndarray:
    """Pixels as float32 in [0, 1] (uint8 pictures are divided by 255)."""
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)


def _checked_infos(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's picture entries, after bounding entries and unpacked bytes."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_FILES:
        raise DataError(f"the .zip lists {len(infos)} entries; at most {MAX_ZIP_FILES}")
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise DataError(f"the .zip unpacks to more than {MAX_UNPACKED_BYTES:,} bytes; send "
                        "smaller pictures or fewer of them")
    pictures = [i for i in infos if not i.is_dir() and i.filename.lower().endswith(IMAGE_TYPES)
                and "__MACOSX" not in i.filename and not i.filename.rsplit("/", 1)[-1]
                .startswith(".")]
    if not pictures:
        raise DataError("the .zip holds no PNG or JPEG pictures; put one folder per class "
                        "inside it, each with the pictures of that class")
    return pictures


def _class_of(info: zipfile.ZipInfo) -> str:
    """The class folder of an entry: the folder right above the picture."""
    parts = info.filename.strip("/").split("/")
    if len(parts) < 2:
        raise DataError(f"the picture {parts[-1][:40]!r} is not in a class folder: put one "
                        "folder per class in the .zip")
    return parts[-2]


def _decode(data: bytes, name: str, size: int, channels: int,
            pixels_left: int = MAX_IMAGE_PIXELS) -> tuple[np.ndarray, bool, int]:
    """One picture as uint8 ``(size, size, channels)``; True when it was resized; its
    pixels. Refused before decoding when its header claims more than ``pixels_left``."""
    from PIL import Image, UnidentifiedImageError

    try:
        # Only the formats the page promises: a GIF or TIFF named .png is refused.
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as img:
            pixels = img.width * img.height
            if pixels > MAX_IMAGE_PIXELS:
                raise DataError(f"{name} is {img.width} x {img.height} pixels; at most "
                                f"{MAX_IMAGE_PIXELS:,} pixels a picture")
            if img.format == "JPEG" and data.count(b"\xff\xda") > MAX_JPEG_SCANS:
                raise DataError(f"{name} is a JPEG of more than {MAX_JPEG_SCANS} scans; save "
                                "it again as a plain (baseline) JPEG or a PNG")
            if pixels > pixels_left:
                raise DataError(f"the pictures of the .zip have more than {MAX_ZIP_PIXELS:,} "
                                "pixels together; send smaller pictures or fewer of them "
                                "(they are resized to at most 64 x 64)")
            resized = img.size != (size, size)
            img = img.convert("L" if channels == 1 else "RGB")
            img = img.resize((size, size), Image.Resampling.BILINEAR) if resized else img
            out = np.asarray(img, np.uint8)
    except DataError:
        raise
    except Image.DecompressionBombError:  # PIL's own guard, on the header's claim
        raise DataError(f"{name} claims too many pixels; at most {MAX_IMAGE_PIXELS:,} "
                        "pixels a picture") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise DataError(f"{name} is not a readable PNG or JPEG picture") from None
    return out.reshape(size, size, channels), resized, pixels


def load_image_zip(data: bytes, *, size: int = 28, channels: int = 1) -> RawImages:
    """Decode a .zip of one folder per class (PNG or JPEG pictures), within limits.

    Args:
        data: the archive's bytes (at most ``MAX_ZIP_BYTES``).
        size: the side every picture is resized to (4 to ``MAX_SIZE``).
        channels: 1 (grey) or 3 (colour).

    Returns:
        ``RawImages``, classes in sorted folder-name order.

    Raises:
        DataError: not a zip, too large, too many entries, a zip bomb, no pictures,
            pictures outside class folders, a picture that is not PNG/JPEG or is too
            large, fewer than 2 or more than ``MAX_CLASSES`` classes.
    """
    if not isinstance(data, bytes | bytearray):
        raise DataError("the upload must be the bytes of a .zip file")
    if len(data) > MAX_ZIP_BYTES:
        raise DataError(f"the .zip has {len(data):,} bytes; at most {MAX_ZIP_BYTES:,}")
    if not 4 <= size <= MAX_SIZE or channels not in (1, 3):
        raise DataError(f"pictures are resized to 4 to {MAX_SIZE} pixels, grey (1) or colour "
                        "(3)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError("the upload is not a .zip file") from None
    with archive:
        pictures = _checked_infos(archive)
        classes = sorted({_class_of(i) for i in pictures})
        if not 2 <= len(classes) <= MAX_CLASSES:
            raise DataError(f"the .zip has {len(classes)} class folder(s); it needs 2 to "
                            f"{MAX_CLASSES}, one per class")
        index = {name: k for k, name in enumerate(classes)}
        xs, ys, resized, pixels_left = [], [], 0, MAX_ZIP_PIXELS
        for info in pictures:
            name = info.filename.rsplit("/", 1)[-1][:60]
            try:
                blob = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
                raise DataError(f"{name} cannot be unpacked from the .zip") from None
            img, was, pixels = _decode(blob, name, size, channels, pixels_left)
            pixels_left -= pixels
            xs.append(img)
            ys.append(index[_class_of(info)])
            resized += was
    return RawImages(np.stack(xs), np.asarray(ys, np.int64), tuple(classes), resized)


MAX_PICTURE_BYTES = 5_000_000
"""Most bytes of one uploaded picture (for the network to look at)."""


def load_picture(data: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """One PNG or JPEG picture as float32 ``shape`` (H, W, C) in [0, 1], for a network
    that reads that shape (resized, made grey or colour).

    Raises:
        DataError: too many bytes or pixels, not a PNG or JPEG, or a shape no picture
            can take.
    """
    h, w, c = shape
    if h != w or c not in (1, 3):
        raise DataError(f"a network reading {shape} does not read square grey or colour "
                        "pictures")
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_PICTURE_BYTES:
        raise DataError(f"a picture may have at most {MAX_PICTURE_BYTES:,} bytes")
    return _decode(bytes(data), "the picture", h, c)[0].astype(np.float32) / 255.0


def register(datasets: Registry) -> None:
    """Add the image sets, in menu order."""
    datasets.register("mnist", ImageSet("mnist", 28),
                      "Handwritten digits 0-9, 28 x 28 grey: up to 20,000 training images of "
                      "MNIST and 2,000 of its test images (Y. LeCun, C. Cortes, C. Burges; "
                      "CC BY-SA 3.0).")
    datasets.register("shapes", ImageSet("shapes", 16),
                      "Lines, crosses, circles and squares, 16 x 16, with jitter and noise: "
                      "a CNN learns them in seconds, and its first filters become edge "
                      "detectors.")
    datasets.register(UPLOAD, ImageSet("upload", 0),
                      "Your own pictures: a .zip with one folder of PNG or JPEG images per "
                      "class.")


__all__ = ["MAX_CLASSES", "UPLOAD", "ImageSet", "RawData", "RawImages", "load_image_zip",
           "load_picture", "mnist_pool", "shapes_pool"]
