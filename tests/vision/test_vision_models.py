"""ember_vision.models: each model built by real torchvision (random weights, batch-norm
statistics and zero-initialised layers randomised too), its ``state_dict`` saved with
``torch.save`` and read back with ``ember.load``, must give torchvision's outputs (eval mode,
tiny inputs) within 1e-5 relative to the output's scale. The large models are marked
``heavy`` (``tox -e vision -- -m heavy`` runs them). The ``weights=`` enums are tested on
the hub cache without torchvision."""
from __future__ import annotations

import os
import urllib.error

import numpy as np
import pytest

import ember
import ember_vision.models as EM

# (name, input side, builder kwargs)
LIGHT = [("resnet18", 32, {}), ("resnet50", 32, {}), ("mobilenet_v2", 32, {}),
         ("mobilenet_v3_small", 32, {}), ("efficientnet_b0", 32, {}),
         ("squeezenet1_0", 48, {}), ("googlenet", 32, {"aux_logits": False,
                                                     "init_weights": True})]
HEAVY = [("resnet34", 32, {}), ("resnet101", 32, {}), ("alexnet", 63, {}),
         ("vgg11", 32, {}), ("vgg11_bn", 32, {}), ("vgg16", 32, {}), ("vgg16_bn", 32, {}),
         ("densenet121", 32, {}), ("vit_b_16", 32, {"image_size": 32})]


def _torchvision_checkpoint(name, kwargs, path):
    """A torchvision model with every float tensor of its state made non-trivial, saved."""
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = getattr(tv.models, name)(num_classes=7, **kwargs).eval()
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if key.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif key.endswith(("running_mean", "bn.bias", "norm.bias")) or not t.any():
                t.normal_(0, 0.05)
    torch.save(model.state_dict(), path)
    return model


def _compare(name, side, kwargs, tmp_path):
    path = str(tmp_path / f"{name}.pth")
    theirs = _torchvision_checkpoint(name, kwargs, path)
    import torch
    ours = getattr(EM, name)(num_classes=7, **kwargs).eval()
    state = ember.load(path)
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)
    x = np.random.default_rng(1).standard_normal((2, 3, side, side)).astype(np.float32)
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = ours(ember.from_numpy(x)).numpy()
    assert got.shape == want.shape == (2, 7)
    scale = max(1.0, float(np.abs(want).max()))
    assert np.abs(got - want).max() <= 1e-5 * scale, (name, np.abs(got - want).max(), scale)


@pytest.mark.parametrize("name,side,kwargs", LIGHT, ids=[m[0] for m in LIGHT])
def test_model_matches_torchvision(tmp_path, name, side, kwargs):
    _compare(name, side, kwargs, tmp_path)


@pytest.mark.heavy
@pytest.mark.parametrize("name,side,kwargs", HEAVY, ids=[m[0] for m in HEAVY])
def test_heavy_model_matches_torchvision(tmp_path, name, side, kwargs):
    _compare(name, side, kwargs, tmp_path)


def test_resnet18_training_step_matches_torchvision(tmp_path):
    """Train mode (batch statistics, running-stat updates) and gradients."""
    path = str(tmp_path / "r18.pth")
    theirs = _torchvision_checkpoint("resnet18", {}, path).train()
    import torch
    ours = EM.resnet18(num_classes=7)
    ours.load_state_dict(ember.load(path))
    x = np.random.default_rng(2).standard_normal((4, 3, 32, 32)).astype(np.float32)
    y = np.array([0, 3, 6, 1])
    lt = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y))
    lo = ember.nn.functional.cross_entropy(ours(ember.from_numpy(x)), ember.from_numpy(y))
    lt.backward()
    lo.backward()
    np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-5)
    for (kt, pt), (ko, po) in zip(theirs.named_parameters(), ours.named_parameters()):
        assert kt == ko
        # float32 noise grows through train-mode batch norm over few values: compare norms
        err = np.linalg.norm(po.grad.numpy() - pt.grad.numpy())
        assert err <= 1e-4 * np.linalg.norm(pt.grad.numpy()) + 1e-7, (kt, err)
    np.testing.assert_allclose(ours.bn1.running_mean.numpy(),
                               theirs.bn1.running_mean.numpy(), rtol=1e-5, atol=1e-6)


def test_model_names_match_torchvision_state_dicts():
    """Without torchvision: a few key names and shapes torchvision's checkpoints carry."""
    sd = EM.resnet18().state_dict()
    assert tuple(sd["layer2.0.downsample.1.running_var"].shape) == (128,)
    assert tuple(sd["fc.weight"].shape) == (1000, 512)
    assert "features.denseblock4.denselayer16.conv2.weight" in EM.densenet121().state_dict()
    assert "encoder.layers.encoder_layer_0.self_attention.in_proj_weight" in \
        EM.vit_b_16(image_size=32).state_dict()
    assert len(EM.list_models()) >= 14
    assert EM.get_model("resnet18", num_classes=3).fc.out_features == 3


def test_weights_load_from_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ember.manual_seed(0)
    src = EM.resnet18().eval()
    weights = EM.ResNet18_Weights.IMAGENET1K_V1
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    ember.save(src.state_dict(), str(cache / os.path.basename(weights.url)))
    for w in (weights, "IMAGENET1K_V1", "DEFAULT", EM.ResNet18_Weights.DEFAULT):
        model = EM.resnet18(weights=w).eval()
        x = ember.randn(1, 3, 32, 32)
        with ember.no_grad():
            assert ember.allclose(model(x), src(x))
    assert len(weights.meta["categories"]) == 1000
    with pytest.raises(ValueError, match="num_classes"):
        EM.resnet18(weights=weights, num_classes=3)


def test_weights_offline_error_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*a, **k):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(RuntimeError) as info:
        EM.squeezenet1_0(weights="DEFAULT")
    msg = str(info.value)
    assert os.path.join(str(tmp_path), "hub", "checkpoints", "squeezenet1_0-b66bff10.pth") \
        in msg and "download.pytorch.org" in msg


def test_weights_transforms_match_torchvision():
    tv = pytest.importorskip("torchvision")
    from PIL import Image
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 280, 3),
                                                             dtype=np.uint8))
    ours = EM.ResNet50_Weights.IMAGENET1K_V2.transforms()(img).numpy()
    theirs = tv.models.ResNet50_Weights.IMAGENET1K_V2.transforms()(img).numpy()
    assert ours.shape == theirs.shape == (3, 224, 224)
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
