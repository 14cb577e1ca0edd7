"""The CapsNet layer by layer (advdl/capsule_layers.py): every stage's shape and values agree with
the model, for a blank-ish, a thick and a rotated digit; and the capsule lab's walk renders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advdl.capsule_layers import tile, walk
from advdl.models import build


@pytest.fixture(scope="module")
def capsnet():
    torch.manual_seed(0)
    return build("capsnet").eval()


def _digits():
    from advdl.data import load_samples
    from advdl.inference import transform

    seven = load_samples().images[140].numpy().astype(np.float32) / 255.0
    faint = np.zeros((28, 28), np.float32)
    faint[14, 14] = 0.05
    thick = np.zeros((28, 28), np.float32)
    thick[4:24, 10:20] = 1.0
    return {"blank-ish": faint, "thick": thick, "rotated": transform(seven, 60)}


@pytest.mark.parametrize("kind", ["blank-ish", "thick", "rotated"])
def test_every_stage_has_its_shape_and_agrees_with_the_model(capsnet, kind):
    img = _digits()[kind]
    w = walk(capsnet, img)
    assert w.kernels.shape == (256, 9, 9) and w.conv1.shape == (256, 20, 20) and w.conv1.min() >= 0
    assert w.primary.shape == (32, 6, 6, 8) and w.primary_lengths.max() < 1  # squashed
    assert w.digit.shape == (10, 16) and w.reconstruction.shape == (28, 28)
    out = capsnet(torch.from_numpy(img).reshape(1, 1, 28, 28))
    assert np.allclose(w.lengths, out.lengths[0].detach().numpy(), atol=1e-6)
    assert w.predicted == int(out.lengths[0].argmax())
    # the primary capsules laid out by (type, row, column) are the model's 1152 in order
    assert np.allclose(w.primary.reshape(1152, 8), capsnet.primary_capsules(torch.from_numpy(img).reshape(1, 1, 28, 28))[0].detach().numpy(), atol=1e-6)


def test_maps_share_one_scale():
    maps = np.stack([np.full((4, 4), 1.0), np.full((4, 4), 2.0)])
    grid = tile(maps, columns=2, pad=1)
    assert grid.shape == (6, 11)
    assert grid[1, 1] == pytest.approx(0.5) and grid[1, 6] == pytest.approx(1.0)  # the fainter map stays fainter
    signed = tile(np.stack([np.full((2, 2), -1.0), np.full((2, 2), 1.0)]), columns=2)
    assert signed[1, 1] == pytest.approx(0.0) and signed[1, 4] == pytest.approx(1.0)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_lab_walks_the_layers(random_checkpoints, checkpoint_env, lang):
    from conftest import run_page

    checkpoint_env(random_checkpoints)
    at = run_page("capsules", lang=lang)
    assert not at.exception
    assert len(at.tabs) >= 5
    at.selectbox(key="caps.walk_row").set_value(3).run()
    assert not at.exception
