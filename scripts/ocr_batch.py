#!/usr/bin/env python
"""Thin shell over `crnn.cli.ocr_batch`: run it from a checkout without installing."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crnn.cli.ocr_batch import main

if __name__ == "__main__":
    sys.exit(main())
