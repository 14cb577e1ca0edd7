"""The "why capsules" experiments (advdl/why_capsules.py): the transformed digits are what they
say, the overlap pairs are of different classes and reproducible, and the measures count right."""

import pytest
import torch

from advdl import why_capsules as W
from advdl.data import fake_split


def digits(n=64, seed=0):
    s = fake_split(n, seed=seed)
    return s.floats(), s.labels


def test_overlap_pairs_are_of_different_classes_and_reproducible():
    _, y = digits(200)
    p1, s1 = W.overlap_pairs(y, seed=3)
    p2, s2 = W.overlap_pairs(y, seed=3)
    p3, _ = W.overlap_pairs(y, seed=4)
    assert torch.equal(p1, p2) and torch.equal(s1, s2) and not torch.equal(p1, p3)
    assert (y[p1] != y).all()
    assert s1.abs().max() <= W.OVERLAP_SHIFT and s1.shape == (200, 2, 2) and len(set(s1.flatten().tolist())) == 2 * W.OVERLAP_SHIFT + 1


def test_an_overlay_holds_both_digits_shifted():
    x, y = digits(50)
    xo, y1, y2 = W.make_overlaps(x, y, seed=0)
    partner, shifts = W.overlap_pairs(y, seed=0)
    assert torch.equal(y1, y) and torch.equal(y2, y[partner]) and xo.shape == x.shape
    i = 7
    (ax, ay), (bx, by) = shifts[i].tolist()
    a, b = W.shift(x[i], ax, ay), W.shift(x[partner[i]], bx, by)
    assert torch.equal(xo[i], torch.maximum(a, b)) and xo[i].max() <= 1
    assert (xo[i] >= a).all() and (xo[i] >= b).all()


def test_shift_moves_whole_pixels_without_wrapping():
    x = torch.zeros(1, 28, 28)
    x[0, 0, 27] = 1  # the top-right corner
    assert W.shift(x, 1, 0).sum() == 0  # pushed off the right edge, not wrapped to the left
    moved = W.shift(x, -2, 2)
    assert moved[0, 2, 25] == 1 and moved.sum() == 1


def test_overlaps_of_one_class_are_refused():
    with pytest.raises(ValueError, match="two classes"):
        W.overlap_pairs(torch.zeros(10, dtype=torch.long))


def test_both_named_wants_the_two_highest_scores_in_either_order():
    s = torch.tensor([[0.1, 0.8, 0.7, 0.0], [0.9, 0.1, 0.8, 0.0], [0.9, 0.8, 0.1, 0.0]])
    y1, y2 = torch.tensor([2, 0, 0]), torch.tensor([1, 2, 2])
    assert W.both_named(s, y1, y2).tolist() == [True, True, False]


def test_rearrangements_move_the_parts_and_keep_the_ink():
    x = torch.arange(28 * 28, dtype=torch.float32).view(1, 28, 28)
    h = W.rearrange(x, "halves_swapped")
    assert torch.equal(h[0, :14], x[0, 14:]) and torch.equal(h[0, 14:], x[0, :14])
    q = W.rearrange(x, "quadrants_moved")
    tl, tr, bl, br = x[0, :14, :14], x[0, :14, 14:], x[0, 14:, :14], x[0, 14:, 14:]
    assert torch.equal(q[0, :14, 14:], tl) and torch.equal(q[0, 14:, 14:], tr)  # clockwise
    assert torch.equal(q[0, 14:, :14], br) and torch.equal(q[0, :14, :14], bl)
    assert torch.equal(W.rearrange(W.rearrange(h, "halves_swapped"), "halves_swapped"), h)
    with pytest.raises(ValueError, match="unknown rearrangement"):
        W.rearrange(x, "mirrored")


def test_pose_scales_and_shears_about_the_centre():
    x = torch.zeros(1, 1, 28, 28)
    x[..., 8:20, 12:16] = 1  # an upright bar
    assert torch.equal(W.pose(x), x)
    small = W.pose(x, scale=0.5)
    assert 0.15 < small.sum() / x.sum() < 0.35  # a quarter of the area
    sheared = W.pose(x, shear=30)
    assert abs(float(sheared.sum() - x.sum())) / float(x.sum()) < 0.1  # shear keeps the area
    top, bottom = sheared[0, 0, 9].argmax(), sheared[0, 0, 18].argmax()
    assert top != bottom  # an upright bar leans


class Oracle(torch.nn.Module):
    """A 'CNN' that reads a digit from where its ink is: enough to check the bookkeeping."""

    def forward(self, x):
        logits = torch.zeros(len(x), 10)
        logits[:, 0] = 10 * x[:, 0, :14].sum((1, 2)) - 10 * x[:, 0, 14:].sum((1, 2))
        logits[:, 1] = -logits[:, 0]
        return logits


def test_evaluate_reports_counts_and_confidence_of_the_original_class():
    x, y = digits(40)
    y = torch.arange(40) % 2  # the oracle reads 0 when the ink is on top, 1 when it is below
    x[:] = 0
    x[y == 0, :, 5:10, 5:20] = 1
    x[y == 1, :, 20:25, 5:20] = 1
    out = W.evaluate("cnn", Oracle(), x, y, seed=1)["why_capsules"]
    assert out["samples"] == out["parts"]["images"] == out["overlap"]["pairs"] == 40
    assert out["parts"]["original"]["still_original"] == 1.0
    assert out["parts"]["halves_swapped"]["still_original"] == 0.0  # every digit's ink changed half
    assert out["parts"]["halves_swapped"]["score_of_original"] < out["parts"]["original"]["score_of_original"]
    assert set(out["sheared_accuracy"]) == {"-40", "-20", "20", "40"}


def test_verdicts_say_who_is_ahead_and_which_way_is_better():
    def card(rot, named, kept):
        return {"rotated_accuracy": {"0": 0.99, "30": rot, "-30": rot},
                "why_capsules": {"scaled_accuracy": {"0.6": 0.9}, "sheared_accuracy": {"40": 0.5},
                                 "overlap": {"both_named": named},
                                 "parts": {"original": {"score_of_original": 1.0},
                                           "halves_swapped": {"score_of_original": kept},
                                           "quadrants_moved": {"score_of_original": kept}}}}
    v = {x.experiment: x for x in W.verdicts(card(0.9, 0.3, 0.4), card(0.8, 0.302, 0.2))}
    assert list(v) == ["rotation", "scale", "shear", "overlap", "parts"]
    assert v["rotation"].capsnet == pytest.approx(0.9) and v["rotation"].ahead == "capsnet"  # 0 degrees left out
    assert v["scale"].ahead is None and v["overlap"].ahead is None  # within half a point: even
    assert v["parts"].capsnet == pytest.approx(0.4) and v["parts"].ahead == "cnn"  # the CNN's confidence falls further
    assert [x.experiment for x in W.verdicts({"rotated_accuracy": {"0": 1}}, {})] == []
