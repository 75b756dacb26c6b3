#!/usr/bin/env python
"""Thin shell over `crnn.cli.ocr_page`: run it from a checkout without installing."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crnn.cli.ocr_page import run

if __name__ == "__main__":
    run()
