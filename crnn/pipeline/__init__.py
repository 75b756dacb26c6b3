"""Page OCR: the layout's line regions read by the recognizer and built into one :class:`~crnn.document.Page`."""

from crnn.pipeline.reader import OcrResult, PageReader, build_page
from crnn.pipeline.words import word_boxes

__all__ = ["OcrResult", "PageReader", "build_page", "word_boxes"]
