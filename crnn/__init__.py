"""crnn: printed book page OCR with a CNN + BiLSTM + CTC line recognizer."""

import os

# albumentations checks PyPI for a newer version on import unless told not to;
# this project runs where only package registries are reachable at install time.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
