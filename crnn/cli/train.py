"""Train the CNN + BiLSTM + CTC line recognizer on synthetic shards (also ``crnn-train``)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from crnn.cli.common import ROOT, config_parser, run_training_command


def build_parser() -> argparse.ArgumentParser:
    """The command line of `train.py`."""
    parser = config_parser(
        "train.py",
        "Train the recognizer on data/synth/<name> shards. Writes runs/<name>/: best/ (the "
        "checkpoint with the lowest validation CER, with its ONNX export model.onnx), last/ (for --resume), "
        "log.csv, learning_curve.png.",
        "train.yaml",
    )
    parser.add_argument("--data", help="synthetic data directory (overrides the config)")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "default", help="output directory")
    parser.add_argument("--steps", type=int, help="total optimizer steps (overrides the config)")
    parser.add_argument("--time-limit", type=float, help="stop after this many minutes (overrides the config)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir where it stopped")
    parser.add_argument("--export", type=Path, help="copy the best checkpoint here when training ends")
    parser.add_argument("--no-onnx", action="store_true",
                        help="do not export the best checkpoint to ONNX at the end (`make export` can, later)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Train (or resume) a run; 0 on success, 1 when the ONNX export fails, 2 for bad config or data,
    130 when interrupted."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from crnn.config import load_config
    from crnn.training import TrainConfig, train

    overrides = {"data": args.data, "steps": args.steps, "time_limit_minutes": args.time_limit}

    def start() -> dict:
        config = load_config(TrainConfig, args.config, {k: v for k, v in overrides.items() if v is not None})
        if not Path(config.data).is_absolute() and not Path(config.data).exists():
            config = replace(config, data=str(ROOT / config.data))  # relative to the project, not the cwd
        return train(config, args.run_dir, resume=args.resume, verbose=0 if args.quiet else 1)

    code = run_training_command(start, args.run_dir, "validation", export=not args.no_onnx)
    if code:
        return code
    if args.export:
        from crnn.io import atomic_directory

        with atomic_directory(args.export) as tmp:
            shutil.copytree(args.run_dir / "best", tmp, dirs_exist_ok=True)
        print(f"exported to {args.export}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
