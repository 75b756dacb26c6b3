"""Command lines, each a ``main(argv) -> exit code``: ``ocr_page`` (read pages), ``make_synth`` (synthetic
data), ``train`` (train a recognizer), ``serve`` (the web app). ``scripts/`` and the ``crnn-*`` entry
points call them."""
