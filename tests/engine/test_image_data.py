"""Image data: the bundled MNIST subset, the generated shapes, and a .zip of the user's
own pictures (built here in memory with Pillow), with every way an upload can be bad.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

import engine
import engine.data.images as images
from engine import DataError, Spec, SpecError
from engine.data.images import (
    MAX_ZIP_BYTES,
    MAX_ZIP_FILES,
    SHAPE_NAMES,
    load_image_zip,
    mnist_pool,
    shapes_pool,
)


def _data(**data) -> engine.Dataset:
    return engine.build_dataset(Spec.from_dict({"data": data}).data)


def _np(ds: engine.Dataset) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in ds.arrays._asdict().items()}


# --- MNIST ---------------------------------------------------------------------------------

def test_mnist_pool_is_the_bundled_subset():
    x, y, xt, yt = mnist_pool()
    assert x.shape == (20_000, 28, 28, 1) and x.dtype == np.uint8
    assert xt.shape == (2_000, 28, 28, 1) and xt.dtype == np.uint8
    assert sorted(set(y.tolist())) == list(range(10)) == sorted(set(yt.tolist()))
    # class-proportional: every digit is 7% to 13% of each part
    for labels in (y, yt):
        share = np.bincount(labels, minlength=10) / len(labels)
        assert share.min() > 0.07 and share.max() < 0.13


def test_mnist_split_sizes_and_pixels():
    ds = _data(name="mnist", n=1000, val_fraction=0.2, train_fraction=0.3)
    a = _np(ds)
    assert a["x_train"].shape == (800, 28, 28, 1)  # train_fraction is not used
    assert a["x_val"].shape == (200, 28, 28, 1)
    assert a["x_test"].shape == (2000, 28, 28, 1)  # always MNIST's 2,000 test images
    assert ds.image == (28, 28, 1)
    assert ds.n_classes == 10 and ds.class_names == tuple(str(k) for k in range(10))
    assert ds.task == "classification"
    for split in ("train", "val", "test"):
        assert a[f"x_{split}"].dtype == np.float32
        assert a[f"y_{split}"].dtype == np.int32
        assert a[f"x_{split}"].min() >= 0.0 and a[f"x_{split}"].max() <= 1.0
    x_pool, y_pool, x_test, y_test = mnist_pool()
    np.testing.assert_array_equal(np.rint(a["x_test"] * 255).astype(np.uint8), x_test)
    np.testing.assert_array_equal(a["y_test"], y_test)
    # Training and validation images are distinct images of the training pool, with
    # their own labels.
    where: dict[bytes, list[int]] = {}
    for i, img in enumerate(x_pool):
        where.setdefault(img.tobytes(), []).append(i)
    picked = []
    for split in ("train", "val"):
        for img, label in zip(np.rint(a[f"x_{split}"] * 255).astype(np.uint8),
                              a[f"y_{split}"], strict=True):
            idx = where[img.tobytes()]
            assert label in y_pool[idx]
            picked.append(idx[0])
    assert len(set(picked)) == 1000


def test_mnist_is_deterministic_per_seed():
    a, b = _np(_data(name="mnist", n=300, seed=3)), _np(_data(name="mnist", n=300, seed=3))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    c = _np(_data(name="mnist", n=300, seed=4))
    assert not np.array_equal(a["x_train"], c["x_train"])
    np.testing.assert_array_equal(a["x_test"], c["x_test"])


def test_mnist_draws_all_20000_at_most():
    a = _np(_data(name="mnist", n=20_000))
    assert a["x_train"].shape[0] == 20_000 and a["x_val"].shape[0] == 0
    assert sorted(np.bincount(a["y_train"]).tolist()) == sorted(
        np.bincount(mnist_pool()[1]).tolist())


def test_mnist_validation_leaving_nothing_to_train_on():
    with pytest.raises(DataError, match="leaves none to train on"):
        _data(name="mnist", n=4, val_fraction=0.9, train_fraction=0.05)


def test_mnist_resized_to_14_is_close_to_2x2_averages():
    ds = _data(name="mnist", n=100, size=14)
    a = _np(ds)
    assert ds.image == (14, 14, 1)
    assert a["x_train"].shape == (100, 14, 14, 1) and a["x_test"].shape == (2000, 14, 14, 1)
    assert a["x_test"].dtype == np.float32
    assert a["x_test"].min() >= 0.0 and a["x_test"].max() <= 1.0
    box = (mnist_pool()[2].astype(np.float64) / 255).reshape(-1, 14, 2, 14, 2, 1).mean((2, 4))
    assert np.abs(a["x_test"] - box).mean() < 0.05
    assert np.corrcoef(a["x_test"].ravel(), box.ravel())[0, 1] > 0.97
    # brightness is kept, image by image
    np.testing.assert_allclose(a["x_test"].mean(axis=(1, 2, 3)), box.mean(axis=(1, 2, 3)),
                               atol=0.01)


@pytest.mark.parametrize("size", [3, 65])
def test_image_size_out_of_range(size):
    if size > 64:  # the spec itself refuses it
        with pytest.raises(SpecError) as info:
            Spec.from_dict({"data": {"name": "mnist", "size": size}})
    else:
        with pytest.raises(SpecError) as info:
            _data(name="mnist", n=100, size=size)
    assert info.value.field == "data.size"


def test_standardize_uses_the_training_images_mean_and_spread():
    ds = _data(name="mnist", n=500, val_fraction=0.2, standardize=True)
    a = _np(ds)
    x = a["x_train"].astype(np.float64)
    assert a["mean"].shape == (1,) and a["std"].shape == (1,)
    assert float(a["mean"][0]) == pytest.approx(x.mean(), rel=1e-5)
    assert float(a["std"][0]) == pytest.approx(x.std(), rel=1e-5)
    # the pictures themselves stay in [0, 1]: the network standardises them
    assert a["x_train"].min() == 0.0 and a["x_train"].max() == 1.0
    plain = _np(_data(name="mnist", n=500, val_fraction=0.2))
    assert plain["mean"].tolist() == [0.0] and plain["std"].tolist() == [1.0]
    np.testing.assert_array_equal(plain["x_train"], a["x_train"])


def test_standardized_images_are_what_the_first_layer_reads():
    # With every weight of a softmax regression known, predictions tell what it saw.
    spec = Spec.from_dict({"data": {"name": "shapes", "n": 100, "standardize": True},
                           "model": {"layers": [{"type": "flatten"}]}})
    exp = engine.build(spec)
    state = exp.init()
    a = _np(exp.dataset)
    assert a["std"][0] != 1.0 and a["mean"][0] != 0.0
    w, b = np.asarray(state.params[-1]["w"], np.float64), np.asarray(state.params[-1]["b"])
    h = (a["x_test"].reshape(len(a["x_test"]), -1) - a["mean"][0]) / a["std"][0]
    z = h @ w + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(exp.predict(state, a["x_test"]), p / p.sum(1, keepdims=True),
                               rtol=1e-4, atol=1e-5)


# --- shapes --------------------------------------------------------------------------------

def test_shapes_pool_is_balanced_ordered_and_deterministic():
    x, y = shapes_pool(np.random.default_rng(0), 103, 0.1)
    assert x.shape == (103, 16, 16, 1) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [26, 26, 26, 25]
    assert np.all(np.diff(y) >= 0)
    assert x.min() >= 0.0 and x.max() <= 1.0
    x2, y2 = shapes_pool(np.random.default_rng(0), 103, 0.1)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = shapes_pool(np.random.default_rng(1), 103, 0.1)
    assert not np.array_equal(x, x3)


def test_shapes_without_noise_are_clean_drawings():
    x, y = shapes_pool(np.random.default_rng(5), 40, 0.0, side=24)
    assert x.shape == (40, 24, 24, 1)
    assert set(np.unique(x).tolist()) == {0.0, 1.0}
    ink = x.sum(axis=(1, 2, 3))
    assert ink.min() >= 4  # every picture has a shape in it
    # a line has less ink than the square outline of the same half-size would
    assert ink[y == 0].mean() < ink[y == 3].mean()


def test_shapes_dataset_splits_by_fractions():
    ds = _data(name="shapes", n=200, train_fraction=0.6, val_fraction=0.2, noise=0.05)
    a = _np(ds)
    assert [a[f"x_{s}"].shape[0] for s in ("train", "val", "test")] == [120, 40, 40]
    assert ds.image == (16, 16, 1) and ds.n_classes == 4
    assert ds.class_names == SHAPE_NAMES == ("line", "cross", "circle", "square")
    labels = np.concatenate([a["y_train"], a["y_val"], a["y_test"]])
    assert np.bincount(labels).tolist() == [50, 50, 50, 50]
    # shuffled: the training split holds every class
    assert set(a["y_train"].tolist()) == {0, 1, 2, 3}
    b = _np(_data(name="shapes", n=200, train_fraction=0.6, val_fraction=0.2, noise=0.05))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    c = _np(_data(name="shapes", n=200, train_fraction=0.6, val_fraction=0.2, noise=0.05,
                  seed=1))
    assert not np.array_equal(a["x_train"], c["x_train"])


def test_shapes_resized():
    ds = _data(name="shapes", n=40, size=32)
    assert ds.image == (32, 32, 1)
    assert _np(ds)["x_train"].shape == (20, 32, 32, 1)


# --- the user's pictures -----------------------------------------------------------------

def _png(pixels, fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(pixels, np.uint8)).save(buf, fmt)
    return buf.getvalue()


def _grey(h, w, value) -> bytes:
    return _png(np.full((h, w), value))


def _rgb(h, w, rgb) -> bytes:
    return _png(np.broadcast_to(np.asarray(rgb, np.uint8), (h, w, 3)))


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries.items():
            if name.endswith("/"):
                z.writestr(zipfile.ZipInfo(name), b"")
            else:
                z.writestr(name, data)
    return buf.getvalue()


HALVES = np.zeros((56, 56), np.uint8)
HALVES[:, 28:] = 255

GOOD = {
    "pics/": b"",
    "pics/cat/": b"",
    "pics/cat/a.png": _grey(28, 28, 200),
    "pics/cat/b.png": _rgb(30, 40, (255, 0, 0)),     # colour and another size
    "pics/dog/c.jpg": _png(np.full((28, 28), 50), "JPEG"),
    "pics/dog/d.png": _png(HALVES),                  # 56 x 56: dark left, light right
    "pics/emu/e.PNG": _rgb(28, 28, (0, 0, 255)),
    "pics/emu/notes.txt": b"not a picture, not counted",
    "pics/cat/.hidden.png": b"macOS litter",
    "__MACOSX/pics/cat/._a.png": b"macOS litter",
}


def test_load_image_zip_grey():
    raw = load_image_zip(_zip(GOOD))
    assert raw.class_names == ("cat", "dog", "emu")
    assert raw.y.tolist() == [0, 0, 1, 1, 2]
    assert raw.x.shape == (5, 28, 28, 1) and raw.x.dtype == np.uint8
    assert raw.resized == 2
    assert np.all(raw.x[0] == 200)
    assert np.all(raw.x[1] == 76)  # ITU-R 601 luma of pure red: 0.299 * 255
    assert np.abs(raw.x[2].astype(int) - 50).max() <= 2  # JPEG is lossy
    d = raw.x[3, :, :, 0]
    assert np.all(d[:, :13] == 0) and np.all(d[:, 15:] == 255)
    assert np.all(raw.x[4] == 29)  # 0.114 * 255


def test_load_image_zip_colour_and_size():
    raw = load_image_zip(_zip(GOOD), size=12, channels=3)
    assert raw.x.shape == (5, 12, 12, 3)
    assert raw.resized == 5
    assert np.all(raw.x[0] == 200)
    assert np.all(raw.x[1] == [255, 0, 0])
    assert np.all(raw.x[4] == [0, 0, 255])


def test_ten_classes_is_the_most():
    entries = {f"c{k}/x.png": _grey(8, 8, 10 * k) for k in range(10)}
    raw = load_image_zip(_zip(entries, zipfile.ZIP_DEFLATED), size=8)
    assert raw.class_names == tuple(f"c{k}" for k in range(10))
    assert [int(raw.x[raw.y == k].mean()) for k in range(10)] == [10 * k for k in range(10)]


def test_uploaded_pictures_become_a_dataset():
    entries = {f"{name}/{i}.png": _grey(28, 28, 20 * i + (100 if name == "b" else 0))
               for name in ("a", "b") for i in range(5)}
    raw = load_image_zip(_zip(entries))
    spec = Spec.from_dict({"data": {"name": "my_images", "n": 10, "train_fraction": 0.6,
                                    "val_fraction": 0.2},
                           "model": {"layers": [{"type": "conv2d", "filters": 2},
                                                {"type": "global_avg_pool"}]},
                           "batch_size": 4})
    with pytest.raises(DataError, match=r"upload a \.zip"):
        engine.build(spec)
    exp = engine.build(spec, raw)
    ds, a = exp.dataset, _np(exp.dataset)
    assert ds.class_names == ("a", "b") and ds.n_classes == 2 and ds.image == (28, 28, 1)
    assert [a[f"x_{s}"].shape[0] for s in ("train", "val", "test")] == [6, 2, 2]
    x = np.concatenate([a["x_train"], a["x_val"], a["x_test"]])
    y = np.concatenate([a["y_train"], a["y_val"], a["y_test"]])
    got = sorted(zip(np.rint(x.mean(axis=(1, 2, 3)) * 255).astype(int).tolist(), y.tolist(),
                     strict=True))
    want = sorted(zip((raw.x.mean(axis=(1, 2, 3))).astype(int).tolist(), raw.y.tolist(),
                      strict=True))
    assert got == want
    _, chunk = exp.train(exp.init(), 1)
    assert chunk.history["trained"].all()
    assert exp.structure.net.head.out_dim == 1  # two classes: one sigmoid unit


# --- bad uploads -------------------------------------------------------------------------

TWO = {"a/1.png": _grey(8, 8, 0), "b/1.png": _grey(8, 8, 255)}


def _fails(data, match: str, **kw) -> DataError:
    with pytest.raises(DataError, match=match) as info:
        load_image_zip(data, **kw)
    return info.value


def test_not_a_zip():
    _fails(b"GIF89a this is not a zip", "the upload is not a .zip file")
    _fails(b"", "not a .zip file")
    _fails("a/1.png", "must be the bytes of a .zip")  # type: ignore[arg-type]


def test_zip_too_large():
    err = _fails(bytes(MAX_ZIP_BYTES + 1), "at most 20,000,000")
    assert f"{MAX_ZIP_BYTES + 1:,} bytes" in str(err)


def test_bad_size_or_channels():
    _fails(_zip(TWO), "4 to 64 pixels", size=3)
    _fails(_zip(TWO), "4 to 64 pixels", size=65)
    _fails(_zip(TWO), "grey \\(1\\) or colour \\(3\\)", channels=2)


def test_no_pictures():
    _fails(_zip({"a/readme.txt": b"hello", "b/": b""}), "holds no PNG or JPEG pictures")
    _fails(_zip({"__MACOSX/a/._1.png": b"x", "a/.1.png": b"x"}), "holds no PNG or JPEG")


def test_one_class():
    _fails(_zip({"a/1.png": _grey(8, 8, 0), "a/2.png": _grey(8, 8, 9)}),
           r"has 1 class folder\(s\); it needs 2 to 10")


def test_eleven_classes():
    entries = {f"c{k:02d}/x.png": _grey(4, 4, k) for k in range(11)}
    _fails(_zip(entries), r"has 11 class folder\(s\); it needs 2 to 10")


def test_too_many_entries():
    entries = dict(TWO)
    entries.update({f"a/{i}.txt": b"" for i in range(MAX_ZIP_FILES - 1)})
    _fails(_zip(entries), f"lists {MAX_ZIP_FILES + 1} entries; at most {MAX_ZIP_FILES}")


def _no_unpacking(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an entry was unpacked before the limits were checked")

    monkeypatch.setattr(zipfile.ZipFile, "read", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


def test_a_zip_bomb_is_refused_before_unpacking(monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("a/1.png", _grey(8, 8, 0))
        z.writestr("b/1.png", _grey(8, 8, 255))
        with z.open("b/bomb.png", "w", force_zip64=True) as f:
            zeros = bytes(1 << 20)
            for _ in range(images.MAX_UNPACKED_BYTES // (1 << 20) + 10):
                f.write(zeros)
    data = buf.getvalue()
    assert len(data) < MAX_ZIP_BYTES  # small on the wire
    _no_unpacking(monkeypatch)
    _fails(data, "unpacks to more than 200,000,000 bytes")


def test_unpacked_limit_adds_every_entry(monkeypatch):
    entries = {f"{c}/{i}.png": _png(np.random.default_rng(i).integers(0, 255, (16, 16)))
               for c in "ab" for i in range(4)}
    total = sum(len(v) for v in entries.values())
    data = _zip(entries, zipfile.ZIP_DEFLATED)
    monkeypatch.setattr(images, "MAX_UNPACKED_BYTES", total)
    assert len(load_image_zip(data).y) == 8  # exactly at the limit is fine
    monkeypatch.setattr(images, "MAX_UNPACKED_BYTES", total - 1)
    _no_unpacking(monkeypatch)
    _fails(data, f"unpacks to more than {total - 1:,} bytes")


def _declare_size(data: bytes, name: str, size: int) -> bytes:
    """The archive with entry ``name``'s uncompressed size rewritten to ``size`` in both
    its local header and the central directory (a lying zip)."""
    buf = bytearray(data)
    encoded = name.encode()
    pos = 0
    while (pos := buf.find(b"PK\x03\x04", pos)) >= 0:  # local headers
        n = struct.unpack_from("<H", buf, pos + 26)[0]
        if bytes(buf[pos + 30:pos + 30 + n]) == encoded:
            struct.pack_into("<I", buf, pos + 22, size)
        pos += 4
    pos = 0
    while (pos := buf.find(b"PK\x01\x02", pos)) >= 0:  # central directory
        n = struct.unpack_from("<H", buf, pos + 28)[0]
        if bytes(buf[pos + 46:pos + 46 + n]) == encoded:
            struct.pack_into("<I", buf, pos + 24, size)
        pos += 4
    return bytes(buf)


def test_an_entry_lying_about_its_size_is_not_unpacked_past_it():
    entries = dict(TWO)
    entries["b/2.png"] = bytes(5_000_000)  # 5 MB of zeros, declared as 100 bytes
    data = _declare_size(_zip(entries, zipfile.ZIP_DEFLATED), "b/2.png", 100)
    assert [i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist()][-1] == 100
    _fails(data, "2.png cannot be unpacked from the .zip|2.png is not a readable")


def test_a_corrupt_picture():
    _fails(_zip({**TWO, "b/broken.png": b"\x89PNG\r\n\x1a\n garbage"}),
           "broken.png is not a readable PNG or JPEG picture")
    whole = _png(np.random.default_rng(0).integers(0, 255, (32, 32)))
    _fails(_zip({**TWO, "b/cut.png": whole[: len(whole) // 2]}),
           "cut.png is not a readable PNG or JPEG picture")
    _fails(_zip({**TWO, "b/text.jpg": b"hello"}), "text.jpg is not a readable")


def test_a_picture_with_too_many_pixels(monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 20 * 20 - 1)
    load_image_zip(_zip({"a/1.png": _grey(19, 21, 0), "b/1.png": _grey(10, 10, 0)}))
    err = _fails(_zip({**TWO, "b/big.png": _grey(20, 20, 7)}), "big.png")
    assert "20 x 20 pixels; at most 399 pixels a picture" in str(err)


def test_the_pictures_of_a_zip_have_a_pixel_budget_together(monkeypatch):
    """Thousands of tiny files that each claim a large picture (a "decode bomb") are
    refused from their headers, before the budget's worth of decoding is spent."""
    entries = {f"{c}/{i}.png": _grey(10, 10, 9 * i) for c in "ab" for i in range(4)}
    monkeypatch.setattr(images, "MAX_ZIP_PIXELS", 8 * 100)
    assert len(load_image_zip(_zip(entries)).y) == 8  # exactly at the budget is fine
    monkeypatch.setattr(images, "MAX_ZIP_PIXELS", 8 * 100 - 1)
    decoded, decode = [], images._decode
    monkeypatch.setattr(images, "_decode", lambda *a: decoded.append(decode(*a)) or decoded[-1])
    _fails(_zip(entries), "more than 799 pixels together; send smaller pictures")
    assert len(decoded) == 7  # the eighth was refused from its header


def test_a_jpeg_of_too_many_scans_is_refused(monkeypatch):
    """A progressive JPEG decodes once per scan: a file of thousands would be a small
    upload of much work."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (16, 16), 7).save(buf, "JPEG", progressive=True)
    scans = buf.getvalue().count(b"\xff\xda")
    assert scans > 1
    entries = {**TWO, "b/p.jpg": buf.getvalue()}
    assert len(load_image_zip(_zip(entries)).y) == 3
    monkeypatch.setattr(images, "MAX_JPEG_SCANS", scans - 1)
    _fails(_zip(entries), f"p.jpg is a JPEG of more than {scans - 1} scans")


def test_only_png_and_jpeg_are_decoded_whatever_the_name_says():
    from PIL import Image

    gif = io.BytesIO()
    Image.new("L", (8, 8), 3).save(gif, "GIF")
    _fails(_zip({**TWO, "b/2.png": gif.getvalue()}), "2.png is not a readable PNG or JPEG")


def test_a_header_past_pils_own_guard_says_too_many_pixels():
    from PIL import Image

    big = bytearray(_grey(8, 8, 0))
    struct.pack_into(">II", big, 16, 100_000, 100_000)  # IHDR's width and height
    struct.pack_into(">I", big, 29, zlib.crc32(bytes(big[12:29])))  # and its checksum
    err = _fails(_zip({**TWO, "b/huge.png": bytes(big)}), "huge.png claims too many pixels")
    assert f"at most {images.MAX_IMAGE_PIXELS:,} pixels" in str(err)
    assert 2 * Image.MAX_IMAGE_PIXELS < 100_000**2  # past PIL's guard, which fires first


def test_a_picture_outside_a_class_folder():
    _fails(_zip({**TWO, "loose.png": _grey(8, 8, 0)}),
           "the picture 'loose.png' is not in a class folder")


def test_class_is_the_folder_right_above_the_picture():
    raw = load_image_zip(_zip({"top/x/a/1.png": _grey(8, 8, 0),
                               "top/y/b/1.png": _grey(8, 8, 0),
                               "c/1.png": _grey(8, 8, 0)}))
    assert raw.class_names == ("a", "b", "c")


def test_mnist_validation_share_is_not_limited_by_the_unused_train_fraction():
    # For mnist "train_fraction is not used" (the test set is MNIST's own), yet the spec
    # refuses val_fraction 0.6 because train_fraction (default 0.5) + 0.6 > 0.99
    # "leaves no test set".
    ds = _data(name="mnist", n=1000, val_fraction=0.6)
    assert ds.arrays.x_train.shape[0] == 400 and ds.arrays.x_val.shape[0] == 600
    assert ds.arrays.x_test.shape[0] == 2000


@pytest.mark.parametrize("data", [
    {"name": "mnist", "n": 300, "val_fraction": 0.2},
    {"name": "mnist", "n": 300, "size": 12},
    {"name": "shapes", "n": 101, "train_fraction": 0.7, "val_fraction": 0.1},
    {"name": "shapes", "n": 40, "size": 9},
    {"name": "my_images", "n": 7, "train_fraction": 0.6, "val_fraction": 0.2},
    {"name": "my_images", "n": 999, "size": 10},
])
def test_planned_says_what_build_makes_without_making_it(data):
    """An app refuses too many pictures before drawing one (``limits.data_refusal``):
    ``planned`` must count what ``build`` then makes, split by split."""
    raw = load_image_zip(_zip({f"{c}/{i}.png": _grey(10, 10, 30 * i) for c in "ab"
                               for i in range(5)}), size=data.get("size", 10), channels=3)
    spec = Spec.from_dict({"data": data}).data
    kind = engine.DATASETS.get(spec.name)
    a = _np(kind.build(spec, raw))
    train, total, values = kind.planned(spec, raw)
    assert train == a["x_train"].shape[0]
    assert total == sum(a[f"x_{s}"].shape[0] for s in ("train", "val", "test"))
    assert values == int(np.prod(a["x_train"].shape[1:]))


def test_planned_refuses_a_size_out_of_range_as_build_does():
    spec = dataclasses.replace(Spec.from_dict({"data": {"name": "shapes"}}).data, size=65)
    for call in (engine.DATASETS.get("shapes").planned, engine.DATASETS.get("shapes").build):
        with pytest.raises(SpecError, match="4 to 64 pixels"):
            call(spec)
