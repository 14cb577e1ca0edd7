#!/usr/bin/env python
"""Measure the shipped models on the MNIST test set and write the numbers into their cards.

This is the only code that reads the test split. Besides MNIST's own test digits, the
classifiers are measured on the same digits restyled as other hands write them (advdl/augment.py:
a marker, a fine pen, a slant, a wobble, each through the lab's digit preparation) and in the
course's "why capsules" experiments (advdl/why_capsules.py: scale and shear, overlapping digits,
parts rearranged).

    python scripts/evaluate.py --data-root ../shared/data               # every checkpoint present
    python scripts/evaluate.py --model capsnet --data-root ../shared/data
    python scripts/evaluate.py --model cnn --why-only --data-root ../shared/data  # only "why capsules"
    python scripts/evaluate.py --smoke --checkpoints /tmp/ckpt          # fake data, seconds

See advdl/evaluation.py for what is measured. Each card's "metrics" gets the numbers, the date
and commit of the evaluation, and a "meets_bar" flag for the bars on the model's registry entry
(advdl/models/__init__.py).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time

import torch
from tqdm.auto import tqdm

from advdl import checkpoints, evaluation, why_capsules
from advdl.data import fake_split, load_samples, load_split
from advdl.models import AUTOENCODERS, MODELS
from advdl.training import git_commit

ORDER = ["cnn", "capsnet", "ae_plain", "ae_deep", "ae_conv", "ae_denoise", "dcgan"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="all", choices=[*ORDER, "all"], help="which model (default: all present)")
    p.add_argument("--data-root", default="data", help="folder holding MNIST/raw/")
    p.add_argument("--checkpoints", help="checkpoint root (default: the repository's checkpoints/)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--gan-samples", type=int, default=10000, help="samples for the GAN's measures")
    p.add_argument("--seed", type=int, default=0, help="seed for noise and samples")
    p.add_argument("--inversion-digits", type=int, default=200, help="shipped sample digits the GAN inverts (default: all 200; 0: skip)")
    p.add_argument("--smoke", action="store_true", help="fake data and few samples, for tests")
    p.add_argument("--quick", action="store_true", help="only the classifiers' unrotated test accuracy, printed, cards untouched")
    p.add_argument("--capsule-stats-only", action="store_true",
                   help="only the CapsNet's capsule statistics over the test set (checkpoints/capsnet/capsule_stats.npz), card untouched")
    p.add_argument("--why-only", action="store_true",
                   help="only the classifiers' \"why capsules\" experiments (advdl/why_capsules.py), into their cards")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    commit = git_commit()  # the code this evaluation runs: taken before it starts, as training does
    root = a.checkpoints
    present = checkpoints.available(root)
    names = [n for n in ORDER if n in present] if a.model == "all" else [a.model]
    if a.smoke:
        train, test = fake_split(200, seed=1), fake_split(100, seed=2)
        a.gan_samples = min(a.gan_samples, 200)
    else:
        train, test = load_split(a.data_root, True), load_split(a.data_root, False)
    x_test, y_test = test.floats(), test.labels
    if a.quick:
        for name in [n for n in names if n in ("cnn", "capsnet")]:
            model = checkpoints.load_model(name, root)
            pred = evaluation._batched(evaluation.predict_fn(name, model), x_test, 250)
            print(f"{name}: test accuracy {float((pred == y_test).float().mean()):.4f} (not written)")
        return 0
    if a.why_only:
        for name in [n for n in names if n in ("cnn", "capsnet")]:
            t0 = time.time()
            m = why_capsules.evaluate(name, checkpoints.load_model(name, root), x_test, y_test, seed=a.seed, progress=tqdm.write)
            m["why_capsules"].update(stamp(a, y_test, t0, commit))
            checkpoints.update_metrics(name, m, root)
        return 0
    if a.capsule_stats_only:
        write_capsule_stats(checkpoints.load_model("capsnet", root), x_test, y_test, root)
        return 0
    results = {}
    for name in tqdm(names, desc="evaluate"):
        t0 = time.time()
        model = checkpoints.load_model(name, root)
        if name in ("cnn", "capsnet"):
            m = evaluation.evaluate_classifier(name, model, x_test, y_test, progress=tqdm.write)
            m.update(evaluation.evaluate_restyled(name, model, x_test, y_test, seed=a.seed, progress=tqdm.write))
            m.update(why_capsules.evaluate(name, model, x_test, y_test, seed=a.seed, progress=tqdm.write))
            if name == "capsnet":
                write_capsule_stats(model, x_test, y_test, root)
        elif name in AUTOENCODERS:
            m = evaluation.evaluate_autoencoder(model, x_test, seed=a.seed)
        else:
            cnn = checkpoints.load_model("cnn", root)
            m = evaluation.evaluate_gan(model, cnn, train.floats(), x_test, n=a.gan_samples, seed=a.seed)
            # the GAN lab's inversion on the shipped sample digits (one torch thread, as the app)
            n_inv = 10 if a.smoke else a.inversion_digits
            if n_inv > 0:
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
                samples = load_samples().images.unsqueeze(1).float() / 255.0
                m.update(evaluation.evaluate_inversion(model, samples[:n_inv]))
                torch.set_num_threads(threads)
        if name != "ae_denoise":  # its bar compares it with ae_conv: below, once both are measured
            m["meets_bar"] = MODELS[name].meets_bar(m)
        m.update(stamp(a, y_test, t0, commit))
        results[name] = m
        checkpoints.update_metrics(name, m, root)
        tqdm.write(f"{name}: " + ", ".join(f"{k}={v}" for k, v in m.items() if not isinstance(v, (dict, list))))
    if "ae_denoise" in results or "ae_conv" in results:
        conv = checkpoints.read_card("ae_conv", root).get("metrics", {}) if "ae_conv" in present else {}
        den = checkpoints.read_card("ae_denoise", root).get("metrics", {}) if "ae_denoise" in present else {}
        if "noisy_psnr" in conv and "noisy_psnr" in den:
            gain = {"psnr_gain_over_conv_at_0.5": round(den["noisy_psnr"]["0.5"] - conv["noisy_psnr"]["0.5"], 3)}
            gain["meets_bar"] = MODELS["ae_denoise"].meets_bar(gain)
            checkpoints.update_metrics("ae_denoise", gain, root)
            gain = gain["psnr_gain_over_conv_at_0.5"]
            tqdm.write(f"ae_denoise: PSNR gain over ae_conv at sigma 0.5 = {gain} dB")
    return 0


def stamp(a: argparse.Namespace, y_test: torch.Tensor, t0: float, commit: str | None) -> dict:
    """What an evaluation was made on, when, at which commit and in how long."""
    return {"evaluated_on": "fake data (smoke)" if a.smoke else f"MNIST test set ({len(y_test)} images)",
            "evaluated_at": datetime.date.today().isoformat(), "evaluated_commit": commit,
            "eval_seconds": round(time.time() - t0, 1)}


def write_capsule_stats(capsnet, x_test, y_test, root) -> None:
    """The capsule lab's slider ranges: where each class's capsules lie over the test set."""
    from advdl import capsule_stats

    out = checkpoints.checkpoint_dir("capsnet", root) / capsule_stats.FILENAME
    capsule_stats.compute(capsnet, x_test, y_test).save(out)
    tqdm.write(f"capsnet: capsule statistics of {len(y_test)} test digits -> {out}")


if __name__ == "__main__":
    sys.exit(main())
