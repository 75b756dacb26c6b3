#!/usr/bin/env python
"""A fingerprint of every layout output (boxes, crops, skew, rotation, pictures) over many pages, for
changes that must not change the layout's output (a faster implementation, say).

    python benchmarks/layout_fingerprint.py before.json          # on the old code
    python benchmarks/layout_fingerprint.py after.json --compare before.json

Pages: every page image of ../shared/devset (line folders excluded) and the reference page, where
present, and 20 generated pages. Also prints the layout's total time. Exit 1 when --compare finds
a page whose fingerprint differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fingerprint(result) -> str:
    """SHA-256 of a LayoutResult's boxes and crops."""
    digest = hashlib.sha256()
    digest.update(repr((result.width, result.height, result.skew_degrees, result.rotation_degrees,
                        result.page_boxes, result.illustration_boxes)).encode())
    for block in result.blocks:
        digest.update(repr(block.box).encode())
        for line in block.lines:
            digest.update(repr((line.box, line.crop.shape)).encode())
            digest.update(line.crop.tobytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="where to write the page -> fingerprint JSON")
    parser.add_argument("--compare", type=Path, help="a fingerprint JSON to compare with")
    args = parser.parse_args(argv)
    from crnn.io import IMAGE_SUFFIXES, load_image
    from crnn.layout import segment_page
    from crnn.synth.pages import PageGenerator

    shared = ROOT.parent / "shared"
    pages = sorted(p for p in shared.glob("devset/*/*/*") if p.suffix.lower() in IMAGE_SUFFIXES
                   and "_lines" not in p.parent.name)
    pages += [p for p in [shared / "reference" / "20000-leagues-006.jpg"] if p.is_file()]
    images = [(str(p.relative_to(shared)), load_image(p)) for p in pages]
    images += [(f"generated/{seed}", PageGenerator(seed).generate(two_pages=seed % 2 == 0).image) for seed in range(20)]
    prints, seconds = {}, 0.0
    for name, image in images:
        started = time.perf_counter()
        result = segment_page(image)
        seconds += time.perf_counter() - started
        prints[name] = fingerprint(result)
    args.out.write_text(json.dumps(prints, indent=0) + "\n", encoding="utf-8")
    print(f"{len(prints)} pages, layout {seconds:.2f} s in all; fingerprints in {args.out}")
    if args.compare:
        before = json.loads(args.compare.read_text(encoding="utf-8"))
        changed = sorted(name for name in prints if before.get(name) != prints[name])
        print(f"{len(changed)} of {len(prints)} pages differ from {args.compare}" + (": " + ", ".join(changed[:10])
                                                                                     if changed else ""))
        return 1 if changed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
