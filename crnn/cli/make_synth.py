"""Generate synthetic book-page text lines for training the recognizer (also ``crnn-synth``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crnn.cli.common import ROOT, config_parser


def build_parser() -> argparse.ArgumentParser:
    """The command line of `make_synth.py`."""
    parser = config_parser(
        "make_synth.py",
        "Render synthetic text lines in book fonts, degrade them like scans and photos, "
        "and write them as .npz shards with a manifest.json under data/synth/<name>/.",
        "synth.yaml",
    )
    parser.add_argument("-n", "--num-lines", type=int, help="number of lines (overrides the config)")
    parser.add_argument("--name", help="data set name (overrides the config)")
    parser.add_argument("--seed", type=int, help="random seed (overrides the config)")
    parser.add_argument("--out-root", type=Path, default=ROOT / "data" / "synth", help="where data sets go")
    parser.add_argument("-j", "--workers", type=int, default=2, help="parallel worker processes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--preview-only", action="store_true",
                        help="do not generate: write preview.png (a contact sheet of random lines) for the data set")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Generate a data set; 0 on success, 2 for a bad config or missing fonts."""
    args = build_parser().parse_args(argv)
    from crnn.config import ConfigError, load_config
    from crnn.synth.config import SynthConfig
    from crnn.synth.dataset import SynthError, build_dataset, write_preview
    from crnn.synth.fonts import FontPackageMissingError

    overrides = {k: v for k, v in (("num_lines", args.num_lines), ("name", args.name), ("seed", args.seed))
                 if v is not None}
    try:
        config = load_config(SynthConfig, args.config, overrides)
        if config.num_lines < 1:
            raise ConfigError("num_lines must be positive")
        out_dir = args.out_root / config.name
        if args.preview_only:
            print(f"preview: {write_preview(out_dir, out_dir / 'preview.png')}")
            return 0
        start = time.perf_counter()
        manifest = build_dataset(config, out_dir, workers=max(1, args.workers), progress=not args.no_progress)
    except (ConfigError, FontPackageMissingError, SynthError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    write_preview(out_dir, out_dir / "preview.png")
    counts = manifest["counts"]
    print(f"wrote {counts['train']} train + {counts['validation']} validation lines to {out_dir} "
          f"in {elapsed:.1f} s ({config.num_lines / elapsed:.0f} lines/s); preview: {out_dir / 'preview.png'}")
    if manifest["characters_never_seen"]:
        print(f"warning: characters never generated: {''.join(manifest['characters_never_seen'])}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
