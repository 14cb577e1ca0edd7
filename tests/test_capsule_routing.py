"""Routing, iteration by iteration (advdl/capsule_routing.py): the same as the model's, uniform at
first, contributions that add up, and the views' figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advdl.capsule_routing import trace, vote_plane
from advdl.models import build


@pytest.fixture(scope="module")
def capsnet():
    torch.manual_seed(0)
    return build("capsnet").eval()


@pytest.fixture(scope="module")
def digit():
    from advdl.data import load_samples

    return load_samples().images[7].numpy().astype(np.float32) / 255.0


def test_the_trace_is_the_models_routing(capsnet, digit):
    tr, _ = trace(capsnet, digit, iters=capsnet.config.routing_iters)
    out = capsnet(torch.from_numpy(digit).reshape(1, 1, 28, 28), return_couplings=True)
    assert np.allclose(tr.lengths[-1], out.lengths[0].detach().numpy(), atol=1e-5)
    for r, c in enumerate(out.couplings):
        assert np.allclose(tr.couplings[r], c[0].detach().numpy(), atol=1e-5)


def test_the_first_iteration_couples_uniformly(capsnet, digit):
    tr, _ = trace(capsnet, digit, iters=5)
    assert tr.iterations == 5
    assert np.allclose(tr.couplings[0], 0.1) and np.allclose(tr.deviation_map(0), 0.0)
    assert np.allclose(tr.couplings.sum(2), 1.0, atol=1e-5)  # each primary capsule's c over the classes


def test_contributions_add_up_to_the_class_total(capsnet, digit):
    tr, _ = trace(capsnet, digit)
    for r in range(tr.iterations):
        total = float((tr.couplings[r, :, tr.predicted] * tr.vote_lengths[:, tr.predicted]).sum())
        assert tr.contributions(r).sum() == pytest.approx(total, rel=1e-6)
        assert tr.contribution_map(r).shape == (6, 6)
        w = np.sort(tr.contributions(r))[::-1]
        k = tr.carrying_half(r)
        assert w[:k].sum() >= 0.5 * w.sum() > w[:k - 1].sum()
        assert tr.margin(r) >= 0


def test_the_vote_plane_puts_each_weighted_sum_among_its_votes(capsnet, digit):
    tr, u_hat = trace(capsnet, digit)
    top2 = tuple(int(j) for j in np.argsort(tr.lengths[-1])[::-1][:2])
    plane = vote_plane(u_hat, tr.couplings[-1], top2)
    for j in top2:
        pts, w = plane[j]["points"], plane[j]["weights"]
        assert pts.shape == (1152, 2) and plane[j]["sum"].shape == (2,)
        # the projection is affine: the weighted sum of the projected votes is the projected
        # weighted sum, once the centre's share (the weights do not add up to 1) is put back
        assert np.allclose((w[:, None] * pts).sum(0), plane[j]["sum"] - (1 - w.sum()) * plane[j]["origin"], atol=1e-4)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_routing_view_switches_iterations(random_checkpoints, checkpoint_env, lang):
    from conftest import run_page

    checkpoint_env(random_checkpoints)
    at = run_page("capsules", lang=lang)
    assert not at.exception
    assert at.session_state["caps.iters"] == 3
    for n in (1, 5, 3):
        at.segmented_control(key="caps.iters").set_value(n).run()
        assert not at.exception
        captions = [i.caption for el in at.get("image") for i in el.proto.imgs]
        carry = [c for c in captions if c.startswith(("Iteration", "第")) and "1152" in c]  # one map per iteration
        assert len(carry) == n, (n, carry)
        assert sum("1152" in c and ("votes" in c or "投票" in c) for c in captions) == 1  # the vote plane


def test_the_vote_plane_is_the_votes_principal_plane(capsnet, digit):
    from advdl.capsule_routing import votes

    u_hat = votes(capsnet, digit)
    tr, again = trace(capsnet, digit, 3, u_hat=u_hat)
    assert np.array_equal(again, u_hat) and tr.iterations == 3
    both = np.concatenate([u_hat[:, 3], u_hat[:, 5]]).astype(np.float64)
    _, _, vt = np.linalg.svd(both - both.mean(0), full_matrices=False)
    plane = vote_plane(u_hat, tr.couplings[-1], (3, 5))
    pts = plane[3]["points"]
    ref = (u_hat[:, 3] - both.mean(0)) @ vt[:2].T
    assert np.allclose(np.abs(pts), np.abs(ref), atol=1e-4)  # the same axes, up to their signs
