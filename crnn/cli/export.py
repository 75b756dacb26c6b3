"""Export a checkpoint's model for ONNX Runtime, checked against Keras first (also ``crnn-export``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crnn.cli.common import ROOT


def build_parser() -> argparse.ArgumentParser:
    """The command line of `export_model.py`."""
    from crnn.recognize.checkpoint import DEFAULT_CHECKPOINT

    parser = argparse.ArgumentParser(
        prog="export_model.py",
        description="Write CHECKPOINT/model.onnx, the checkpoint's model (batch normalizations folded) for ONNX "
        "Runtime, which reads pages without TensorFlow. The export is kept only if its logits agree with the Keras "
        "model's within --tolerance and its greedy text is identical on --lines synthetic validation lines; "
        "otherwise nothing is written and the exit code is 1.",
        epilog="Exit codes: 0 exported, 1 export failed or refused, 2 bad checkpoint or arguments.",
    )
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help="checkpoint directory with model.keras (default: checkpoints/default)")
    parser.add_argument("--format", default="onnx",
                        help="onnx (default): the graph written with ONNX's LSTM operator; onnx-keras: Keras' own "
                        "model.export (tf2onnx, TensorFlow backend), slower to run")
    parser.add_argument("--lines", type=int, default=200, help="synthetic lines for the parity check (default: 200)")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest |logit difference| allowed (default: 1e-4)")
    parser.add_argument("--synth-config", type=Path, default=ROOT / "configs" / "synth.yaml",
                        help="how the parity lines are drawn (default: configs/synth.yaml)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Export; 0 on success, 1 when the export fails or is refused, 2 for bad input."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from crnn.config import ConfigError, load_config
    from crnn.export import EXPORTERS, ExportError, export_checkpoint
    from crnn.recognize import CheckpointError
    from crnn.synth.config import SynthConfig

    if args.format not in EXPORTERS:
        print(f"error: unknown export format {args.format!r} (known: {', '.join(EXPORTERS)})", file=sys.stderr)
        return 2
    if args.lines < 1 or not args.tolerance > 0:
        print("error: --lines must be at least 1 and --tolerance positive", file=sys.stderr)
        return 2
    try:
        synth_config = load_config(SynthConfig, args.synth_config)
        report = export_checkpoint(args.checkpoint, args.format, parity_count=args.lines, tolerance=args.tolerance,
                                   synth_config=synth_config)
    except (CheckpointError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
