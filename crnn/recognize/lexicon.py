"""A word list that biases beam search towards words of the language (``--decoder words``).

The words come from the ``wordfreq`` package (its most frequent English words), never from a
transcription. A finished word found in the list earns the beam a bonus, one not found a
penalty of the same size, in log probability; tokens of one letter or with digits are neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# apostrophes and dashes inside a word stay; punctuation around it goes
_AROUND = re.compile(r"^[\W_]+|[\W_]+$")
_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'"})


@dataclass(frozen=True)
class WordList:
    """Words (lower case) and the weight of a known or unknown word, in log probability."""

    words: frozenset[str]
    weight: float = 1.0

    def score(self, token: str) -> float:
        """+weight for a word of the list, -weight for another word, 0 for what is no word."""
        word = _AROUND.sub("", token).translate(_TYPOGRAPHY).lower()
        if len(word) < 2 or any(ch.isdigit() for ch in word):
            return 0.0
        return self.weight if word in self.words else -self.weight


class WordListError(RuntimeError):
    """The word list cannot be loaded (its package is not installed)."""


@lru_cache(maxsize=4)
def english_words(count: int = 100_000, weight: float = 1.0) -> WordList:
    """The ``count`` most frequent English words of ``wordfreq``, loaded once."""
    try:
        from wordfreq import top_n_list
    except ImportError:
        raise WordListError("--decoder words needs the wordfreq package: pip install wordfreq") from None
    return WordList(frozenset(top_n_list("en", count)), weight)
