#!/usr/bin/env python
"""Train the lab's models.

    python scripts/train.py --model cnn --data-root ../shared/data
    python scripts/train.py --model all --data-root ../shared/data --resume
    python scripts/train.py --model capsnet --smoke --out /tmp/ckpt     # seconds, fake data
    torchrun --nproc_per_node 2 scripts/train.py --model cnn --data-root ../shared/data

Each epoch writes a resumable state (under --state-dir, outside git) and the checkpoint
(checkpoints/<model>/model.safetensors, card.json, history.csv).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advdl.training import DEFAULT_STATE_DIR, TASKS, TrainArgs, model_config, train  # noqa: E402

ORDER = ["cnn", "ae_plain", "ae_deep", "ae_conv", "ae_denoise", "dcgan", "capsnet"]
AMP_MODELS = ("dcgan", "capsnet")  # --amp bf16 (with --model all: only these)


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=[*ORDER, "all"], help="which model to train, or all of them in turn")
    p.add_argument("--epochs", type=int, help="total epochs (default: the model's own)")
    p.add_argument("--batch-size", type=int, help="batch size per process (default: the model's own)")
    p.add_argument("--lr", type=float, help="learning rate (default: the model's own)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, cuda:1, mps")
    p.add_argument("--data-root", default="data", help="folder holding MNIST/raw/ (downloaded there if missing)")
    p.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"], help="dataset (default: mnist)")
    p.add_argument("--resume", action="store_true", help="continue from the last saved epoch")
    p.add_argument("--smoke", action="store_true", help="a tiny run on fake data that finishes in seconds")
    p.add_argument("--out", help="checkpoint root (default: the repository's checkpoints/)")
    p.add_argument("--state-dir", help=f"where resumable state goes (default: {DEFAULT_STATE_DIR})")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--store-dtype", choices=["float32", "float16"], help="dtype of the stored weights")
    p.add_argument("--amp", choices=["bf16"], help="bfloat16 for the DCGAN's forward passes (1.8x on CPUs with AVX512-BF16, "
                   "measured on this machine's EPYC) and the CapsNet's two convolutions (1.7x here); weights, "
                   "optimizer, routing and the shipped checkpoint stay float32")
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field of the model's config, e.g. --config ngf=128 (repeatable; the card records it)")
    p.add_argument("--lr-decay", type=float, help="learning-rate factor per epoch (default: the model's own)")
    p.add_argument("--anneal-epochs", type=int, metavar="N",
                   help="let the learning rate fall linearly to 0 over the last N of --epochs (counted from epoch 0, "
                        "so it also holds after --resume or --init-from)")
    p.add_argument("--ema-decay", type=float, help="dcgan: decay of the generator's weight average (default 0.999; "
                   "0.9999 averages over ~10 000 steps)")
    p.add_argument("--lr-d", type=float, help="dcgan: the discriminator's learning rate (default: --lr; higher: the "
                   "two time-scale update rule)")
    p.add_argument("--r1", type=float, metavar="GAMMA",
                   help="dcgan: R1 penalty, GAMMA/2 x the squared gradient of D at real images (Mescheder et al. 2018; "
                        "computed every 4th step)")
    p.add_argument("--topk", type=float, metavar="NU",
                   help="dcgan: top-k training (Sinha et al. 2020): G learns only from the samples D rates most real, "
                        "a share of each batch falling from 1 by 1%% an epoch down to NU (e.g. 0.5)")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="start no epoch that would end after this many seconds (state and checkpoint stay whole)")
    p.add_argument("--init-from", metavar="ROOT",
                   help="a checkpoint root whose <model>/ weights start the training (e.g. to continue on a GPU); "
                        "for the dcgan with a larger --config g_refine=N the generator is deepened, its new layers "
                        "starting as the identity")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the networks (fused kernels: for a GPU; the first step compiles for ~30 s)")
    a = p.parse_args(argv)
    if a.amp and a.model not in AMP_MODELS + ("all",):
        p.error(f"--amp applies to {' and '.join(AMP_MODELS)}, not {a.model}")
    for item in a.config:
        if "=" not in item:
            p.error(f"--config takes KEY=VALUE, not {item!r}")
    return a


def main(argv=None) -> int:
    a = parse(argv)
    names = ORDER if a.model == "all" else [a.model]
    for name in names:
        assert name in TASKS
        args = TrainArgs(
            model=name, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed, device=a.device,
            data_root=a.data_root, dataset=a.dataset, resume=a.resume, smoke=a.smoke, out=a.out,
            state_dir=a.state_dir, threads=a.threads,
            store_dtype=a.store_dtype or ("float16" if name == "capsnet" else None), amp=a.amp if name in AMP_MODELS else None,
            config=dict(item.split("=", 1) for item in a.config) or None, lr_decay=a.lr_decay,
            time_budget=a.time_budget, anneal_epochs=a.anneal_epochs,
            ema_decay=a.ema_decay, r1=a.r1, topk=a.topk, lr_d=a.lr_d, init_from=a.init_from, compile=a.compile,
        )
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
