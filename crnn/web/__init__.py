"""The web app: upload a page, see and correct its lines, keep the corrections as training data.

``app`` (the FastAPI application), ``store`` (corrections on disk), ``uploads`` (checks on
what a client sends), ``static`` (the single-page interface).
"""
