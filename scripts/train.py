#!/usr/bin/env python
"""Train the lab's models.

    python scripts/train.py --recipe recipes/cnn.toml --data-root ../shared/data      # a shipped model, replayed
    python scripts/train.py --recipe recipes/dcgan.toml --data-root ../shared/data --resume --device cuda
    python scripts/train.py --model cnn --epochs 3 --data-root ../shared/data         # a run of your own
    python scripts/train.py --model all --smoke --out /tmp/ckpt                       # seconds, fake data
    torchrun --nproc_per_node 2 scripts/train.py --model cnn --data-root ../shared/data

Every model trains on the MNIST training split less a fixed hold-out of 5 000 digits, on which
it validates every epoch. Each epoch writes a resumable state (under --state-dir, outside git)
and the checkpoint (checkpoints/<model>/model.safetensors, card.json, history.csv). A recipe's
earlier stages export under --state-dir; its last stage exports to --out.
"""

from __future__ import annotations

import argparse
import sys

from advdl.models import MODELS
from advdl.training import AUGMENTS, DEFAULT_STATE_DIR, TASKS, Recipe, TrainArgs, model_config, train, train_recipe

ORDER = ["cnn", "ae_plain", "ae_deep", "ae_conv", "ae_denoise", "dcgan", "capsnet"]


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--recipe", help="replay a recipe (recipes/<model>.toml), every stage in turn")
    what.add_argument("--model", choices=[*ORDER, "all"], help="which model to train, or all of them in turn")
    p.add_argument("--epochs", type=int, help="the epoch count to reach (default: the model's own)")
    p.add_argument("--batch-size", type=int, help="batch size per process (default: the model's own)")
    p.add_argument("--lr", type=float, help="learning rate (default: the model's own)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, cuda:1, mps")
    p.add_argument("--data-root", default="data", help="folder holding MNIST/raw/ (downloaded there if missing)")
    p.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"], help="dataset (default: mnist)")
    p.add_argument("--resume", action="store_true", help="continue from the last saved epoch (a recipe: its last stage done)")
    p.add_argument("--smoke", action="store_true", help="a tiny run on fake data that finishes in seconds")
    p.add_argument("--out", help="checkpoint root (default: the repository's checkpoints/)")
    p.add_argument("--state-dir", help=f"where resumable state goes (default: {DEFAULT_STATE_DIR})")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--amp", choices=["bf16"], help="bfloat16 for the DCGAN's forward passes and the CapsNet's two "
                   "convolutions; weights, optimizer, routing and the shipped checkpoint stay float32")
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field of the model's config, e.g. --config ngf=128 (repeatable; the card records it)")
    p.add_argument("--lr-decay", type=float, help="learning-rate factor per epoch (default: the model's own)")
    p.add_argument("--anneal-epochs", type=int, metavar="N",
                   help="let the learning rate fall linearly to 0 over the last N of --epochs (counted from epoch 0, "
                        "so it also holds after --resume or --init-from)")
    p.add_argument("--stop-after", type=int, metavar="EPOCH", help="end at this epoch, the schedule still counting to --epochs")
    p.add_argument("--ema-decay", type=float, help="dcgan: decay of the generator's weight average (default 0.999)")
    p.add_argument("--augment", choices=AUGMENTS,
                   help="none; shift (±2 px); handwriting (random affine and stroke width: the CNN's default)")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="start no epoch that would end after this many seconds (state and checkpoint stay whole)")
    p.add_argument("--init-from", metavar="ROOT",
                   help="a checkpoint root whose <model>/ weights start the training, with fresh optimizers; for the "
                        "dcgan a larger --config g_refine=N or d_refine=N deepens that network, its new layers "
                        "starting as the identity")
    a = p.parse_args(argv)
    for item in a.config:
        if "=" not in item:
            p.error(f"--config takes KEY=VALUE, not {item!r}")
    a.config = dict(item.split("=", 1) for item in a.config) or None
    return a


def main(argv=None) -> int:
    a = parse(argv)
    if a.recipe:
        try:
            recipe = Recipe.load(a.recipe)
        except (OSError, ValueError) as exc:
            raise SystemExit(f"train.py: {exc}") from None
        # a recipe's stages make every training choice; the command line says only where and on what
        base = TrainArgs(model=recipe.model, device=a.device, data_root=a.data_root, dataset=a.dataset, resume=a.resume,
                         smoke=a.smoke, out=a.out, state_dir=a.state_dir, threads=a.threads)
        folder = train_recipe(recipe, base)
        if folder is not None:
            print(f"wrote {folder}")
        return 0
    for name in ORDER if a.model == "all" else [a.model]:
        assert name in TASKS
        args = TrainArgs.from_namespace(a, model=name, amp=a.amp if a.model != "all" or MODELS[name].amp else None)
        try:
            model_config(name, args.config)  # a bad --config: one line, no traceback
        except ValueError as exc:
            raise SystemExit(f"train.py: {exc}") from None
        folder = train(args)
        if folder is not None:
            print(f"wrote {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
