"""Options shared by the renderers."""

LOW_CONFIDENCE = 0.5  # lines and words below this are flagged as uncertain
