"""The course's "why capsules" (5.3.1) as experiments on the test set, for the CapsNet and the
CNN alike (``scripts/evaluate.py`` writes them into the cards; the capsule lab shows them with
the student's digit as a live example):

1. *pose*: accuracy under scale and shear (rotation is :func:`advdl.evaluation.evaluate_classifier`'s);
2. *overlapping digits* (the paper's MultiMNIST on 28 x 28): two digits of different classes,
   each shifted by up to ``OVERLAP_SHIFT`` pixels, overlaid; "both named" when a model's two
   highest scores (the two longest capsules, the two most probable classes) are the two digits;
3. *parts rearranged* (the "Picasso" argument): the top and bottom halves swapped, the four
   quadrants moved round; how sure each model stays of the original class. A model that sees
   parts and how they relate should become less sure; a bag of local features need not.

A model's *scores* are the CapsNet's capsule lengths or the CNN's softmax probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

SCALES = [0.6, 0.8, 1.2, 1.4]
SHEARS = [-40, -20, 20, 40]  # degrees along x, as torchvision's affine takes them
OVERLAP_SHIFT = 2
REARRANGEMENTS = ("halves_swapped", "quadrants_moved")


def scores(name: str, model, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """(B, 10) class scores: capsule lengths for the CapsNet, softmax probabilities otherwise."""
    fn = (lambda xb: model(xb).lengths) if name == "capsnet" else (lambda xb: F.softmax(model(xb), 1))
    with torch.inference_mode():
        return torch.cat([fn(xb) for xb in x.split(batch)])


def pose(x: torch.Tensor, scale: float = 1.0, shear: float = 0.0) -> torch.Tensor:
    """Images (..., 28, 28) scaled and sheared (degrees) about their centre; bilinear, zero fill."""
    if scale == 1.0 and shear == 0.0:
        return x
    from torchvision.transforms.functional import InterpolationMode, affine

    return affine(x, angle=0.0, translate=[0, 0], scale=float(scale), shear=[float(shear)], interpolation=InterpolationMode.BILINEAR)


def shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """One image (..., H, W) moved by whole pixels, zero-filled (no wrap-around)."""
    out = torch.zeros_like(x)
    H, W = x.shape[-2:]
    ys, yd = (slice(0, H - dy), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, H + dy))
    xs, xd = (slice(0, W - dx), slice(dx, W)) if dx >= 0 else (slice(-dx, W), slice(0, W + dx))
    out[..., yd, xd] = x[..., ys, xs]
    return out


def overlay(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Two digits on one canvas: the brighter ink at each pixel (ink does not add up past 1)."""
    return torch.maximum(a, b)


def overlap_pairs(y: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """For each digit i a partner j of another class, and both digits' shifts (N, 2, 2) in
    [-OVERLAP_SHIFT, OVERLAP_SHIFT]: reproducible from ``seed``."""
    if len(torch.unique(y)) < 2:
        raise ValueError("overlapping digits need digits of at least two classes")
    g = torch.Generator().manual_seed(seed)
    n = len(y)
    partner = torch.randint(0, n, (n,), generator=g)
    same = y[partner] == y
    while same.any():  # redraw the partners of the same class until none is left
        partner[same] = torch.randint(0, n, (int(same.sum()),), generator=g)
        same = y[partner] == y
    shifts = torch.randint(-OVERLAP_SHIFT, OVERLAP_SHIFT + 1, (n, 2, 2), generator=g)
    return partner, shifts


def make_overlaps(x: torch.Tensor, y: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(overlaid images (N, 1, 28, 28), first labels, second labels)."""
    partner, shifts = overlap_pairs(y, seed)
    out = torch.empty_like(x)
    for i in range(len(x)):
        (ax, ay), (bx, by) = shifts[i].tolist()
        out[i] = overlay(shift(x[i], ax, ay), shift(x[partner[i]], bx, by))
    return out, y, y[partner]


def both_named(s: torch.Tensor, y1: torch.Tensor, y2: torch.Tensor) -> torch.Tensor:
    """(N,) bool: the two highest scores are the two digits' classes (in either order)."""
    top = s.topk(2, dim=1).indices
    return ((top[:, 0] == y1) & (top[:, 1] == y2)) | ((top[:, 0] == y2) & (top[:, 1] == y1))


def rearrange(x: torch.Tensor, how: str) -> torch.Tensor:
    """The parts of each image (..., 28, 28) moved: ``halves_swapped`` puts the bottom half on
    top; ``quadrants_moved`` moves each quadrant one place clockwise."""
    H, W = x.shape[-2:]
    h, w = H // 2, W // 2
    if how == "halves_swapped":
        return torch.cat([x[..., h:, :], x[..., :h, :]], dim=-2)
    if how == "quadrants_moved":
        tl, tr, bl, br = x[..., :h, :w], x[..., :h, w:], x[..., h:, :w], x[..., h:, w:]
        # clockwise: top-left -> top-right -> bottom-right -> bottom-left -> top-left
        top = torch.cat([bl, tl], dim=-1)
        bottom = torch.cat([br, tr], dim=-1)
        return torch.cat([top, bottom], dim=-2)
    raise ValueError(f"unknown rearrangement {how!r}; one of {REARRANGEMENTS}")


def _confidence(s: torch.Tensor, y: torch.Tensor) -> dict:
    """How sure a model stays of class ``y``: its mean score for it and the share still read as it."""
    own = s[torch.arange(len(y)), y]
    return {"score_of_original": round(float(own.mean()), 4), "still_original": round(float((s.argmax(1) == y).float().mean()), 4)}


def evaluate(name: str, model, x: torch.Tensor, y: torch.Tensor, seed: int = 0, progress=None) -> dict:
    """The three experiments on (x, y) for one classifier, with their sample counts."""
    def say(msg: str) -> None:
        if progress:
            progress(f"{name} {msg}")

    n = len(y)
    acc = lambda xs: round(float((scores(name, model, xs).argmax(1) == y).float().mean()), 5)  # noqa: E731
    scaled = {f"{s:g}": acc(pose(x, scale=s)) for s in SCALES}
    say(f"scaled {scaled}")
    sheared = {f"{s:g}": acc(pose(x, shear=s)) for s in SHEARS}
    say(f"sheared {sheared}")
    xo, y1, y2 = make_overlaps(x, y, seed)
    so = scores(name, model, xo)
    named = both_named(so, y1, y2)
    top1 = so.argmax(1)
    overlap = {"pairs": n, "max_shift_px": OVERLAP_SHIFT, "seed": seed, "composition": "pixel-wise max",
               "both_named": round(float(named.float().mean()), 4),
               "one_named": round(float(((top1 == y1) | (top1 == y2)).float().mean()), 4)}
    say(f"overlapping pairs both named {overlap['both_named']}")
    parts = {"images": n, "original": _confidence(scores(name, model, x), y)}
    for how in REARRANGEMENTS:
        parts[how] = _confidence(scores(name, model, rearrange(x, how)), y)
    say(f"parts {parts}")
    return {"why_capsules": {"samples": n, "scaled_accuracy": scaled, "sheared_accuracy": sheared,
                             "overlap": overlap, "parts": parts}}


@dataclass(frozen=True)
class Verdict:
    """One experiment's outcome on the test set: each model's figure and which is ahead (None:
    within ``TIE`` of each other). ``higher_is_better`` False where the sensible model's figure
    falls (confidence on rearranged parts)."""

    experiment: str
    capsnet: float
    cnn: float
    higher_is_better: bool = True

    @property
    def ahead(self) -> str | None:
        d = self.capsnet - self.cnn if self.higher_is_better else self.cnn - self.capsnet
        return None if abs(d) < TIE else ("capsnet" if d > 0 else "cnn")


TIE = 0.005  # half a point: closer than that, the lab calls it even


def _mean(d: dict, skip: str | None = None) -> float:
    vals = [v for k, v in d.items() if k != skip]
    return float(np.mean(vals)) if vals else float("nan")


def verdicts(capsnet: dict, cnn: dict) -> list[Verdict]:
    """What the cards' metrics say, experiment by experiment: mean accuracy over the rotations
    (0 left out), the scales and the shears; the overlapping pairs named both; and how far each
    model's score for the original class falls when the parts are moved (halves and quadrants
    together; a larger fall is the sensible answer)."""
    out = []
    if "rotated_accuracy" in capsnet and "rotated_accuracy" in cnn:
        out.append(Verdict("rotation", _mean(capsnet["rotated_accuracy"], "0"), _mean(cnn["rotated_accuracy"], "0")))
    a, b = capsnet.get("why_capsules"), cnn.get("why_capsules")
    if a and b:
        out.append(Verdict("scale", _mean(a["scaled_accuracy"]), _mean(b["scaled_accuracy"])))
        out.append(Verdict("shear", _mean(a["sheared_accuracy"]), _mean(b["sheared_accuracy"])))
        out.append(Verdict("overlap", a["overlap"]["both_named"], b["overlap"]["both_named"]))

        def kept(parts):  # the share of its original confidence a model keeps on rearranged parts
            return float(np.mean([parts[h]["score_of_original"] for h in REARRANGEMENTS]) / parts["original"]["score_of_original"])

        out.append(Verdict("parts", kept(a["parts"]), kept(b["parts"]), higher_is_better=False))
    return out


@dataclass
class OverlapExample:
    """One overlaid pair as the lab shows it: the image, the CapsNet's two longest capsules (their
    classes and lengths) with each one's reconstruction, and the CNN's two most probable classes."""

    image: np.ndarray  # (28, 28)
    capsnet_top: list[tuple[int, float]]
    reconstructions: np.ndarray  # (2, 28, 28): from the first and the second capsule
    cnn_top: list[tuple[int, float]] | None

    def coloured(self) -> np.ndarray:
        """(28, 28, 3) uint8: the first capsule's reconstruction in red, the second's in cyan
        (white where both draw)."""
        a, b = np.clip(self.reconstructions, 0, 1)
        return (np.stack([a, b, b], axis=-1) * 255).astype(np.uint8)


def overlap_example(capsnet, cnn, a: np.ndarray, b: np.ndarray) -> OverlapExample:
    """``a`` and ``b`` (28, 28) overlaid, read by both models; the CapsNet decodes its two longest
    capsules one at a time (the other nine masked), as the paper's MultiMNIST figure does."""
    img = overlay(torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32))
    x = img.view(1, 1, 28, 28)
    with torch.inference_mode():
        out = capsnet(x)
        lengths = out.lengths[0]
        top = lengths.topk(2).indices
        recon = capsnet.decode(out.capsules[0, top], top)[:, 0].numpy()
        cnn_top = None
        if cnn is not None:
            p = F.softmax(cnn(x), 1)[0]
            cnn_top = [(int(i), float(p[i])) for i in p.topk(2).indices]
    return OverlapExample(img.numpy(), [(int(i), float(lengths[i])) for i in top], recon, cnn_top)


def parts_example(capsnet, cnn, img: np.ndarray, cls: int) -> dict[str, tuple[np.ndarray, float, float | None]]:
    """The digit as it is and with its parts moved: for each, the image, the CapsNet's length for
    class ``cls`` and the CNN's probability of it."""
    x = torch.as_tensor(img, dtype=torch.float32).view(1, 1, 28, 28)
    batch = torch.cat([x, *(rearrange(x, how) for how in REARRANGEMENTS)])
    lengths = scores("capsnet", capsnet, batch)[:, cls]
    probs = scores("cnn", cnn, batch)[:, cls] if cnn is not None else None
    names = ("original", *REARRANGEMENTS)
    return {n: (batch[i, 0].numpy(), float(lengths[i]), None if probs is None else float(probs[i])) for i, n in enumerate(names)}
