"""ember_vision.datasets on small files in the real formats: the samples are the arrays
written (the first oracle), the same as real torchvision reads from the same files (the
second, where torchvision is installed), and crafted files fail safely."""
from __future__ import annotations

import os
import pickle
import urllib.error

import numpy as np
import pytest

pytest.importorskip("PIL")
import ember  # noqa: E402
from ember_vision import datasets, transforms  # noqa: E402

from _vision_formats import write_cifar, write_idx, write_image_folder, write_mnist, \
    write_svhn  # noqa: E402


def _tv():
    return pytest.importorskip("torchvision")


def _same_samples(ours, theirs, n=None):
    assert len(ours) == len(theirs)
    for i in range(n or len(ours)):
        (a, ya), (b, yb) = ours[i], theirs[i]
        assert ya == yb and type(ya) is type(yb)
        assert a.mode == b.mode and a.size == b.size
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("cls", ["MNIST", "FashionMNIST", "KMNIST"])
def test_mnist_family_reads_idx(tmp_path, cls):
    written = write_mnist(str(tmp_path), cls)
    for train, key in ((True, "train"), (False, "t10k")):
        ds = getattr(datasets, cls)(str(tmp_path), train=train)
        imgs, labels = written[key]
        assert len(ds) == len(imgs) and ds.data.dtype == ember.uint8
        assert ds.targets.dtype == ember.int64
        img, target = ds[1]
        assert img.mode == "L" and target == int(labels[1]) and isinstance(target, int)
        np.testing.assert_array_equal(np.asarray(img), imgs[1])
    ds = getattr(datasets, cls)(str(tmp_path), transform=transforms.ToTensor(),
                                target_transform=lambda y: y + 100)
    x, y = ds[0]
    assert tuple(x.shape) == (1, 28, 28) and y == int(written["train"][1][0]) + 100
    np.testing.assert_allclose(x.numpy()[0], written["train"][0][0] / 255.0, rtol=1e-6)


def test_mnist_matches_torchvision(tmp_path):
    tv = _tv()
    write_mnist(str(tmp_path), "MNIST")
    ours, theirs = datasets.MNIST(str(tmp_path)), tv.datasets.MNIST(str(tmp_path))
    _same_samples(ours, theirs)
    assert ours.classes == theirs.classes and ours.class_to_idx == theirs.class_to_idx
    assert repr(ours) == repr(theirs)


def test_emnist_split_files(tmp_path):
    written = write_mnist(str(tmp_path), "EMNIST", prefix=lambda s: "emnist-letters-" + (
        "train" if s == "train" else "test"))
    ds = datasets.EMNIST(str(tmp_path), split="letters", train=False)
    np.testing.assert_array_equal(np.asarray(ds[2][0]), written["t10k"][0][2])
    assert ds.classes[0] == "N/A" and len(ds.classes) == 27
    with pytest.raises(ValueError, match="split"):
        datasets.EMNIST(str(tmp_path), split="nope")
    tv = _tv()
    _same_samples(ds, tv.datasets.EMNIST(str(tmp_path), split="letters", train=False))


def test_idx_header_lying_about_its_size_is_refused(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_mnist(str(tmp_path), "MNIST")
    path = raw / "train-images-idx3-ubyte"
    data = path.read_bytes()
    path.write_bytes(data[:8] + (10**6).to_bytes(4, "big") + data[12:])  # 10**6 rows
    with pytest.raises(ValueError, match="promises"):
        datasets.MNIST(str(tmp_path))
    path.write_bytes(b"\x00\x00\x07\x03" + data[4:])  # unknown type code
    with pytest.raises(ValueError, match="type code"):
        datasets.MNIST(str(tmp_path))


def test_missing_files_error_names_them(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found") as info:
        datasets.MNIST(str(tmp_path))
    msg = str(info.value)
    assert os.path.join(str(tmp_path), "MNIST", "raw") in msg
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    with pytest.raises(RuntimeError, match="cifar-10-batches-py.*data_batch_1"):
        datasets.CIFAR10(str(tmp_path))
    with pytest.raises(RuntimeError, match="train_32x32.mat"):
        datasets.SVHN(str(tmp_path))


def test_offline_download_says_where_to_put_the_file(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(RuntimeError) as info:
        datasets.CIFAR10(str(tmp_path), download=True)
    msg = str(info.value)
    assert "cifar-10-python.tar.gz" in msg and str(tmp_path) in msg
    with pytest.raises(RuntimeError, match="Error downloading train-images-idx3-ubyte.gz"):
        datasets.MNIST(str(tmp_path), download=True)
    assert not list(tmp_path.rglob("*.part"))


def test_download_checks_the_md5(tmp_path, monkeypatch):
    import io
    from ember_vision.datasets.utils import download_url

    monkeypatch.setattr("urllib.request.urlopen",
                        lambda *a, **k: io.BytesIO(b"tampered bytes"))
    with pytest.raises(RuntimeError, match="md5"):
        download_url("http://example.invalid/f.bin", str(tmp_path), md5="0" * 32)
    assert not (tmp_path / "f.bin").exists()
    import hashlib
    good = hashlib.md5(b"tampered bytes").hexdigest()
    download_url("http://example.invalid/f.bin", str(tmp_path), md5=good)
    assert (tmp_path / "f.bin").read_bytes() == b"tampered bytes"


def test_extract_refuses_paths_leaving_the_target(tmp_path):
    import tarfile
    import zipfile
    from ember_vision.datasets.utils import extract_archive

    bad_zip = tmp_path / "evil.zip"
    with zipfile.ZipFile(bad_zip, "w") as zf:
        zf.writestr("../escaped.txt", "x")
    (tmp_path / "out").mkdir()
    with pytest.raises(RuntimeError, match="outside"):
        extract_archive(str(bad_zip), str(tmp_path / "out"))
    bad_tar = tmp_path / "evil.tar.gz"
    with tarfile.open(bad_tar, "w:gz") as tf:
        src = tmp_path / "payload"
        src.write_text("x")
        tf.add(src, arcname="../../escaped2.txt")
    with pytest.raises(tarfile.TarError):
        extract_archive(str(bad_tar), str(tmp_path / "out"))
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path.parent / "escaped2.txt").exists()


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar10_reads_batches(tmp_path, protocol):
    written = write_cifar(str(tmp_path), protocol=protocol)
    ds = datasets.CIFAR10(str(tmp_path), train=True)
    assert len(ds) == 30 and ds.data.shape == (30, 32, 32, 3)
    data, labels = written["data_batch_2"]
    img, y = ds[6 + 4]
    assert img.mode == "RGB" and y == labels[4]
    np.testing.assert_array_equal(np.asarray(img), data[4].reshape(3, 32, 32).transpose(1, 2, 0))
    assert ds.classes[3] == "cat" and ds.class_to_idx["truck"] == 9
    test = datasets.CIFAR10(str(tmp_path), train=False)
    assert test.targets == written["test_batch"][1]


def test_cifar100_fine_labels(tmp_path):
    written = write_cifar(str(tmp_path), hundred=True)
    ds = datasets.CIFAR100(str(tmp_path), train=False)
    assert ds.targets == written["test"][1] and ds.classes[7] == "fine7"


def test_cifar_matches_torchvision(tmp_path):
    tv = _tv()
    write_cifar(str(tmp_path))
    write_cifar(str(tmp_path), hundred=True)

    # the small files are not the published ones: torchvision checks their md5s
    class TV10(tv.datasets.CIFAR10):
        train_list = [[f, None] for f, _ in tv.datasets.CIFAR10.train_list]
        test_list = [[f, None] for f, _ in tv.datasets.CIFAR10.test_list]
        meta = dict(tv.datasets.CIFAR10.meta, md5=None)

    class TV100(tv.datasets.CIFAR100):
        train_list = [[f, None] for f, _ in tv.datasets.CIFAR100.train_list]
        test_list = [[f, None] for f, _ in tv.datasets.CIFAR100.test_list]
        meta = dict(tv.datasets.CIFAR100.meta, md5=None)

    for ours, theirs in ((datasets.CIFAR10, TV10), (datasets.CIFAR100, TV100)):
        for train in (True, False):
            a, b = ours(str(tmp_path), train=train), theirs(str(tmp_path), train=train)
            _same_samples(a, b)
            assert a.classes == b.classes


class _RunsCode:
    """Pickles as a call to os.system: loading it with pickle.load would run the command."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class _Evals:
    def __reduce__(self):
        return (eval, ("__import__('os').mkdir('pwned_by_eval')",))


@pytest.mark.parametrize("payload", ["system", "eval", "unknown_key", "object_array",
                                     "not_a_dict", "nested_object"])
def test_malicious_cifar_pickle_runs_no_code(tmp_path, monkeypatch, payload):
    write_cifar(str(tmp_path))
    marker = tmp_path / "pwned"
    monkeypatch.chdir(tmp_path)
    data = np.zeros((6, 3072), np.uint8)
    entry = {
        "system": {"data": data, "labels": [0] * 6, "batch_label": _RunsCode(f"touch {marker}")},
        "eval": {"data": data, "labels": [_Evals()] * 6},
        "unknown_key": {"data": data, "labels": [0] * 6, "extra": 1},
        "object_array": {"data": np.array([None] * 6, dtype=object), "labels": [0] * 6},
        "not_a_dict": [data, [0] * 6],
        "nested_object": {"data": data, "labels": [[0]] * 6},
    }[payload]
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "wb") as f:
        pickle.dump(entry, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError) as info:
        datasets.CIFAR10(str(tmp_path))
    assert "data_batch_1" in str(info.value)
    assert not marker.exists() and not (tmp_path / "pwned_by_eval").exists()


def test_svhn_reads_mat(tmp_path):
    x, y = write_svhn(str(tmp_path), "test")
    ds = datasets.SVHN(str(tmp_path), split="test")
    img, label = ds[3]
    np.testing.assert_array_equal(np.asarray(img), x[:, :, :, 3])
    assert label == int(y[3, 0]) % 10 and isinstance(label, int)
    assert set(ds.labels.tolist()) <= set(range(10)) and ds.labels[0] == 0  # the file's 10
    tv = _tv()

    class TVSVHN(tv.datasets.SVHN):
        split_list = {k: v[:2] + [None] for k, v in tv.datasets.SVHN.split_list.items()}
    _same_samples(ds, TVSVHN(str(tmp_path), split="test"))


def test_image_folder(tmp_path):
    write_image_folder(str(tmp_path))
    ds = datasets.ImageFolder(str(tmp_path))
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    names = [os.path.relpath(p, tmp_path) for p, _ in ds.samples]
    assert names == ["cat/a.jpg", "cat/b.png", "cat/sub/c.bmp", "dog/x.png"]
    assert ds.targets == [0, 0, 0, 1] and ds.imgs == ds.samples
    img, y = ds[2]
    assert img.mode == "RGB" and y == 0  # the grayscale BMP converted
    folder = datasets.DatasetFolder(str(tmp_path), loader=lambda p: open(p).read(),
                                    extensions=(".txt",), allow_empty=True)
    assert folder[0] == ("not an image", 1)
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes cat"):
        datasets.DatasetFolder(str(tmp_path), loader=open, extensions=(".txt",))
    tv = _tv()
    theirs = tv.datasets.ImageFolder(str(tmp_path))
    _same_samples(ds, theirs)
    assert [p for p, _ in theirs.samples] == [p for p, _ in ds.samples]


def test_fake_data_is_repeatable_and_leaves_the_global_rng(tmp_path):
    ember.manual_seed(3)
    before = ember.rand(1)
    ember.manual_seed(3)
    ds = datasets.FakeData(size=4, image_size=(3, 8, 6), num_classes=5,
                           transform=transforms.ToTensor())
    a, ya = ds[2]
    b, yb = ds[2]
    assert tuple(a.shape) == (3, 8, 6) and 0 <= ya < 5 and isinstance(ya, int)
    assert ember.equal(a, b) and ya == yb
    assert ember.equal(ember.rand(1), before)
    with pytest.raises(IndexError):
        ds[4]


def test_writes_idx_as_torchvision_reads_it(tmp_path):
    """The IDX writer here is checked against torchvision's reader (other dtypes too)."""
    tv = _tv()
    from ember_vision.datasets.mnist import read_sn3_pascalvincent_tensor
    for arr in (np.arange(6, dtype=">i4").reshape(2, 3), np.linspace(0, 1, 4).astype(">f8")):
        write_idx(str(tmp_path / "f"), arr)
        ours = read_sn3_pascalvincent_tensor(str(tmp_path / "f")).numpy()
        theirs = tv.datasets.mnist.read_sn3_pascalvincent_tensor(str(tmp_path / "f")).numpy()
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ours, arr)
