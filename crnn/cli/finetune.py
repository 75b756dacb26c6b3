"""Fine-tune a trained recognizer on real line pairs mixed with synthetic lines (also ``crnn-finetune``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crnn.cli.common import ROOT, config_parser, run_training_command


def build_parser() -> argparse.ArgumentParser:
    """The command line of `finetune.py`."""
    parser = config_parser(
        "finetune.py",
        "Fine-tune a checkpoint on folders of real line pairs (X.png + X.gt.txt: the web app's corrections/, "
        "../shared/devset/train/typescript_lines, ...), mixed with synthetic lines. Validation is on real lines of "
        "pages held out of training. Writes RUN_DIR/: best/ (with its model.onnx), last/ (for --resume), log.csv, "
        "learning_curve.png.",
        "finetune.yaml",
    )
    parser.add_argument("--checkpoint", help="checkpoint to start from (overrides the config)")
    parser.add_argument("--real", action="append", metavar="DIR",
                        help="a folder of line pairs (repeatable; replaces the config's list and its real_shares: "
                        "the folders are then sampled by size)")
    parser.add_argument("--synthetic", help="synthetic data set to mix in, '' for none (overrides the config)")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "finetune", help="output directory")
    parser.add_argument("--steps", type=int, help="total optimizer steps (overrides the config)")
    parser.add_argument("--time-limit", type=float, help="stop after this many minutes (overrides the config)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir where it stopped")
    parser.add_argument("--no-onnx", action="store_true", help="do not export the best checkpoint to ONNX at the end")
    parser.add_argument("--validate", nargs="+", type=Path, metavar="CHECKPOINT",
                        help="do not train: print each checkpoint's CER on this config's validation lines (real "
                        "lines of held-out pages, synthetic validation lines), e.g. before and after fine-tuning")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Fine-tune; 0 on success, 1 when the ONNX export fails, 2 for bad config or data, 130 when interrupted."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from crnn.config import load_config
    from crnn.training.finetune import FinetuneConfig, finetune

    overrides = {"checkpoint": args.checkpoint, "real": args.real, "synthetic": args.synthetic,
                 "steps": args.steps, "time_limit_minutes": args.time_limit}
    if args.real:
        overrides["real_shares"] = []

    def start() -> dict:
        config = load_config(FinetuneConfig, args.config, {k: v for k, v in overrides.items() if v is not None})
        return finetune(config, args.run_dir, ROOT, resume=args.resume, verbose=0 if args.quiet else 1)

    if args.validate:
        return validate(args, overrides)

    return run_training_command(start, args.run_dir, "real-line validation", export=not args.no_onnx)


def validate(args: argparse.Namespace, overrides: dict) -> int:
    """``--validate``: a table of the checkpoints' validation CERs; 2 for a bad config or checkpoint."""
    from crnn.config import ConfigError, load_config
    from crnn.training import TrainingError
    from crnn.training.finetune import FinetuneConfig, validate_checkpoints

    try:
        config = load_config(FinetuneConfig, args.config, {k: v for k, v in overrides.items() if v is not None})
        results = validate_checkpoints(config, ROOT, args.validate)
    except (ConfigError, TrainingError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("| checkpoint | real lines CER (exact) | synthetic lines CER (exact) |")
    print("| --- | --- | --- |")
    for path, row in results.items():
        cells = [f"{100 * row[f'{n}_val_cer']:.2f}% ({100 * row[f'{n}_val_exact']:.1f}%) of {row[f'{n}_lines']}"
                 if f"{n}_val_cer" in row else "-" for n in ("real", "synthetic")]
        print(f"| {path} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
