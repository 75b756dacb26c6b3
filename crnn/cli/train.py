"""Train the CNN + BiLSTM + CTC line recognizer on synthetic shards (also ``crnn-train``)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from crnn.cli.common import ROOT, config_parser


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
    from crnn.config import ConfigError, load_config
    from crnn.training import TrainConfig, TrainingError, train

    overrides = {"data": args.data, "steps": args.steps, "time_limit_minutes": args.time_limit}
    try:
        config = load_config(TrainConfig, args.config, {k: v for k, v in overrides.items() if v is not None})
        if not Path(config.data).is_absolute() and not Path(config.data).exists():
            config = replace(config, data=str(ROOT / config.data))  # relative to the project, not the cwd
        best = train(config, args.run_dir, resume=args.resume, verbose=0 if args.quiet else 1)
    except (ConfigError, TrainingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted; continue with --resume --run-dir {args.run_dir}", file=sys.stderr)
        return 130
    metrics = best["metrics"]
    print(f"best validation CER {100 * metrics['val_cer']:.2f}% (exact lines {100 * metrics['val_exact']:.1f}%) "
          f"at step {metrics['step']}; checkpoint: {args.run_dir / 'best'}")
    if not args.no_onnx:
        # a trained model never ships without its ONNX twin, checked against it
        from crnn.export import ExportError, export_onnx

        try:
            print(export_onnx(args.run_dir / "best").summary())
        except ExportError as exc:
            print(f"error: {exc}; the checkpoint has no model.onnx (retry with `make export CHECKPOINT=...`)",
                  file=sys.stderr)
            return 1
    if args.export:
        from crnn.io import atomic_directory

        with atomic_directory(args.export) as tmp:
            shutil.copytree(args.run_dir / "best", tmp, dirs_exist_ok=True)
        print(f"exported to {args.export}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
