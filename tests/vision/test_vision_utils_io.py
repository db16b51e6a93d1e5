"""ember_vision.utils and ember_vision.io against torchvision (pixel-exact), plus checks with
Pillow and numpy as the oracle that run without torchvision."""
from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

import ember  # noqa: E402
import ember_vision  # noqa: E402
from ember_vision import io as eio  # noqa: E402
from ember_vision import utils  # noqa: E402

# torchvision 0.29 deprecates its own image io in favour of TorchCodec
pytestmark = pytest.mark.filterwarnings("ignore:The image decoding:DeprecationWarning")

_RNG = np.random.default_rng(0)
BATCH = _RNG.random((5, 3, 6, 7)).astype(np.float32)
IMG = _RNG.integers(0, 256, (3, 30, 40), dtype=np.uint8)


def _tv():
    return pytest.importorskip("torchvision")


def test_make_grid_layout(device):
    x = ember.from_numpy(BATCH).to(device)
    grid = utils.make_grid(x, nrow=2, padding=1, pad_value=0.5)
    assert tuple(grid.shape) == (3, 3 * 7 + 1, 2 * 8 + 1)
    g = grid.cpu().numpy()
    np.testing.assert_array_equal(g[:, 1:7, 1:8], BATCH[0])
    np.testing.assert_array_equal(g[:, 8:14, 9:16], BATCH[3])
    assert (g[:, 0] == 0.5).all() and (g[:, 15:, 9:] == 0.5).all()  # padding, empty cell


@pytest.mark.parametrize("kw", [{}, {"nrow": 2, "padding": 1, "normalize": True},
                                {"normalize": True, "value_range": (0.2, 0.8),
                                 "scale_each": True, "pad_value": 0.3}])
def test_make_grid_matches_torchvision(device, kw):
    tv = _tv()
    import torch
    got = utils.make_grid(ember.from_numpy(BATCH).to(device), **kw)
    want = tv.utils.make_grid(torch.from_numpy(BATCH), **kw)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=1e-6)


def test_save_image(tmp_path):
    utils.save_image(ember.from_numpy(BATCH), str(tmp_path / "grid.png"), nrow=3)
    saved = np.asarray(Image.open(tmp_path / "grid.png"))
    grid = utils.make_grid(ember.from_numpy(BATCH), nrow=3).numpy()
    want = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    np.testing.assert_array_equal(saved, want)
    tv = _tv()
    import torch
    buf = io.BytesIO()
    tv.utils.save_image(torch.from_numpy(BATCH), buf, format="png", nrow=3)
    np.testing.assert_array_equal(saved, np.asarray(Image.open(buf)))


@pytest.mark.parametrize("fill", [False, True])
def test_draw_bounding_boxes_matches_torchvision(device, fill):
    tv = _tv()
    import torch
    boxes = [[1, 2, 20, 25], [5, 5, 35, 28]]
    got = utils.draw_bounding_boxes(ember.from_numpy(IMG).to(device),
                                    ember.tensor(boxes, dtype=ember.float), labels=["a", "b"],
                                    colors=["red", "blue"], width=2, fill=fill)
    want = tv.utils.draw_bounding_boxes(torch.from_numpy(IMG), torch.tensor(
        boxes, dtype=torch.float), labels=["a", "b"], colors=["red", "blue"], width=2,
        fill=fill)
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


def test_draw_bounding_boxes_by_hand():
    img = ember.zeros(3, 10, 10, dtype=ember.uint8)
    out = utils.draw_bounding_boxes(img, ember.tensor([[2.0, 2.0, 6.0, 6.0]]),
                                    colors="white").numpy()
    assert (out[:, 2, 2:7] == 255).all() and (out[:, 6, 2:7] == 255).all()
    assert (out[:, 4, 4] == 0).all() and out[:, 0].sum() == 0
    with pytest.raises(ValueError, match="xmin, ymin, xmax, ymax"):
        utils.draw_bounding_boxes(img, ember.tensor([[6.0, 2.0, 2.0, 6.0]]))


def test_draw_segmentation_masks(device):
    m = _RNG.random((2, 30, 40)) > 0.5
    got = utils.draw_segmentation_masks(ember.from_numpy(IMG).to(device),
                                        ember.from_numpy(m).to(device), alpha=0.6,
                                        colors=["green", (0, 0, 255)])
    g = got.cpu().numpy().astype(np.float64)
    only, both = m[1] & ~m[0], m[1] & m[0]
    want = IMG.astype(np.float64)[:, only] * 0.4 + np.array([0, 0, 255.])[:, None] * 0.6
    np.testing.assert_allclose(g[:, only], want, atol=1.0)
    # overlaps are painted black, outside any mask the image is kept
    np.testing.assert_allclose(g[:, both], IMG[:, both] * 0.4, atol=1.0)
    np.testing.assert_array_equal(g[:, ~(m[0] | m[1])], IMG[:, ~(m[0] | m[1])])
    tv = _tv()
    import torch
    theirs = tv.utils.draw_segmentation_masks(torch.from_numpy(IMG), torch.from_numpy(m),
                                              alpha=0.6, colors=["green", (0, 0, 255)])
    np.testing.assert_array_equal(got.cpu().numpy(), theirs.numpy())


def test_png_roundtrip_and_modes(tmp_path):
    eio.write_png(ember.from_numpy(IMG), str(tmp_path / "a.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")),
                                  IMG.transpose(1, 2, 0))
    back = eio.read_image(str(tmp_path / "a.png"))
    assert back.dtype == ember.uint8
    np.testing.assert_array_equal(back.numpy(), IMG)
    gray = eio.read_image(str(tmp_path / "a.png"), eio.ImageReadMode.GRAY)
    np.testing.assert_array_equal(
        gray.numpy()[0], np.asarray(Image.open(tmp_path / "a.png").convert("L")))
    rgba = eio.decode_image(eio.read_file(str(tmp_path / "a.png")), eio.ImageReadMode.RGB_ALPHA)
    assert tuple(rgba.shape) == (4, 30, 40) and (rgba.numpy()[3] == 255).all()
    with pytest.raises(RuntimeError, match="uint8"):
        eio.encode_png(ember.zeros(3, 4, 4))


def test_io_matches_torchvision(tmp_path):
    tv = _tv()
    import torch
    Image.fromarray(IMG.transpose(1, 2, 0)).save(tmp_path / "c.jpg", quality=80)
    tv.io.write_png(torch.from_numpy(IMG[:1]), str(tmp_path / "g.png"))
    for name, modes in (("c.jpg", ("UNCHANGED", "GRAY", "RGB")),
                        ("g.png", ("UNCHANGED", "GRAY", "GRAY_ALPHA", "RGB", "RGB_ALPHA"))):
        for mode in modes:
            got = eio.decode_image(eio.read_file(str(tmp_path / name)),
                                   getattr(eio.ImageReadMode, mode))
            want = tv.io.decode_image(tv.io.read_file(str(tmp_path / name)),
                                      getattr(tv.io.ImageReadMode, mode))
            np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=f"{name} {mode}")
    np.testing.assert_array_equal(
        eio.encode_png(ember.from_numpy(IMG)).numpy().size > 0, True)


def test_top_level_names():
    assert ember_vision.get_image_backend() == "PIL"
    for mod in ("datasets", "transforms", "models", "ops", "utils", "io"):
        assert hasattr(ember_vision, mod)
