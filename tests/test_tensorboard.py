"""ember.utils.tensorboard.SummaryWriter: event files read back with TensorBoard's own
EventAccumulator; the default log dir; the demo's --tensorboard option."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

pytest.importorskip("tensorboard")

import ember  # noqa: E402
from ember.utils.tensorboard import SummaryWriter  # noqa: E402


def _reader(path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(str(path), size_guidance={"tensors": 0, "images": 0,
                                                     "histograms": 0, "scalars": 0})
    ea.Reload()
    return ea


def test_scalars_histograms_images_text_read_back(tmp_path, device):
    with SummaryWriter(str(tmp_path)) as w:
        for i in range(3):
            w.add_scalar("loss", ember.tensor(1.0 / (i + 1), device=device), i)
        w.add_histogram("weights", ember.arange(100.0, device=device), 7)
        w.add_image("img", ember.ones(3, 4, 5, device=device) * 0.5, 1)
        w.add_image("gray_hw", ember.zeros(6, 7), 1, dataformats="HW")
        w.add_images("batch", ember.zeros(3, 1, 4, 4), 2)
        w.add_text("notes", "hello *world*", 3)
    ea = _reader(tmp_path)
    assert [(e.step, round(e.value, 6)) for e in ea.Scalars("loss")] == \
        [(0, 1.0), (1, 0.5), (2, 0.333333)]
    h = ea.Histograms("weights")[0]
    assert h.step == 7 and h.histogram_value.num == 100
    assert h.histogram_value.min == 0 and h.histogram_value.max == 99
    assert h.histogram_value.sum == sum(range(100))
    assert sum(h.histogram_value.bucket) == 100
    img = ea.Images("img")[0]
    assert (img.width, img.height) == (5, 4)
    from io import BytesIO

    from PIL import Image
    px = np.asarray(Image.open(BytesIO(img.encoded_image_string)))
    assert px.shape == (4, 5, 3) and (px == 127).all()
    assert (ea.Images("gray_hw")[0].width, ea.Images("gray_hw")[0].height) == (7, 6)
    grid = ea.Images("batch")[0]
    assert (grid.width, grid.height) == (12, 4)  # three 4x4 images in a row
    text = ea.Tensors("notes/text_summary")[0]
    assert text.step == 3 and text.tensor_proto.string_val == [b"hello *world*"]


def test_add_scalars_figure_hparams_graph(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    w = SummaryWriter(str(tmp_path))
    w.add_scalars("run", {"train": 1.0, "val": 2.0}, 5)
    fig = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([1, 2, 3])
    w.add_figure("fig", fig, 0)
    w.add_hparams({"lr": 0.1, "opt": "sgd", "bn": True}, {"hparam/acc": 0.9}, run_name="hp")
    model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
    w.add_graph(model, ember.randn(2, 4))
    w.flush()
    w.close()
    assert sorted(os.listdir(tmp_path / "run_train"))
    assert _reader(tmp_path / "run_val").Scalars("run")[0].value == 2.0
    fig_img = _reader(tmp_path).Images("fig")[0]
    assert (fig_img.width, fig_img.height) == (100, 50)
    graph = _reader(tmp_path).Graph()
    ops = [n.op for n in graph.node]
    assert "aten::linear" in ops and "aten::relu" in ops and ops.count("IO Node") == 2
    hp = _reader(tmp_path / "hp")
    assert hp.Scalars("hparam/acc")[0].value == pytest.approx(0.9)
    from tensorboard.plugins.hparams import plugin_data_pb2
    content = hp.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    assert data.session_start_info.hparams["lr"].number_value == 0.1
    assert data.session_start_info.hparams["opt"].string_value == "sgd"
    with pytest.raises(TypeError, match="hparam_dict and metric_dict should be dictionary"):
        SummaryWriter(str(tmp_path / "x")).add_hparams([1], {})


def test_default_log_dir_is_torchs(tmp_path, monkeypatch, torch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    w.close()
    assert re.fullmatch(r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_.+_exp", w.log_dir)
    assert os.listdir(w.log_dir)[0].startswith("events.out.tfevents.")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter
    tw = TorchWriter(comment="_exp")
    tw.close()
    assert os.path.dirname(tw.log_dir) == os.path.dirname(w.log_dir)


def test_scalar_must_be_one_value(tmp_path):
    with SummaryWriter(str(tmp_path)) as w, pytest.raises(AssertionError,
                                                          match="one element"):
        w.add_scalar("x", ember.ones(3), 0)


def test_demo_logs_to_tensorboard(tmp_path):
    pytest.importorskip("sklearn")
    from ember.__main__ import main
    tb = tmp_path / "tb"
    rc = main(["demo", "--task", "regression", "--epochs", "2", "--out", str(tmp_path / "o"),
               "--tensorboard", str(tb)])
    assert rc == 0
    ea = _reader(tb)
    assert [e.step for e in ea.Scalars("loss/train")] == [1, 2]
    assert len(ea.Scalars("loss/val")) == 2
