"""Synthetic training data: text, fonts, typesetting, degradations, line data sets and whole pages.

``text`` (prose-like lines), ``fonts`` (book fonts from PyPI packages), ``typeset``
(Pillow typesetter), ``degrade`` (what a camera or scanner does to a line), ``render``
(one normalized line image), ``dataset`` (shards, manifest, samples, preview),
``pages`` (pages and spreads with known line boxes), ``config`` (all their parameters).
Import the module you need: rendering pulls in albumentations and trdg.
"""
