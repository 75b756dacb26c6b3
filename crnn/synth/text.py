"""Prose-like English text lines for synthetic training data.

Words are drawn by their real frequencies (the ``wordfreq`` package's English
list), assembled into sentences with capitals, commas, dialogue quotes, dashes
and numbers, and the sentences are set into lines of a random measure the way a
book does: justified lines, hyphenated line ends, short paragraph-final lines.
Headings in capitals, lone page numbers and captions are mixed in. Rare
characters (accented letters, symbols) are injected often enough for every
character of the charset to be learned.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from crnn.charset import Charset

_PLAIN_WORD = re.compile(r"^[a-z]+(?:'[a-z]+)?$")
_ACCENTED_WORD = re.compile(r"^[a-zàâäáãåæçèéêëìíîïñòóôöõøœùúûüýÿß]+$")
_SYMBOL_TOKENS = (
    "&", "#{n}", "${n}", "{n}%", "*", "[{n}]", "({w})", "{w}/{w}", "{w}@{w}", "<{w}>", "{{{w}}}",
    "{w}_{w}", "~{n}", "^", "+{n}", "={n}", "|", "\\", "`{w}`", "{n}:{n}", "{n}.{n}", "No. {n}", "A.D.",
    "etc.", "Mr.", "Mrs.", "Dr.", "St.", "{n}th", "{w}-{w}", "{w};", "{w}:", "{w}!", "{w}?", "‘{w}’",
    "“{w}”", "'{w}'", "\"{w}\"", "{w}…", "{n}–{n}", "{w}—",
)


@dataclass(frozen=True)
class TextConfig:
    """What kind of lines to produce and how often.

    Fractions are per line; the remainder are body lines of running prose.
    """

    vocabulary_size: int = 30000
    min_chars: int = 24
    max_chars: int = 62
    heading_fraction: float = 0.04
    page_number_fraction: float = 0.02
    caption_fraction: float = 0.03
    random_chars_fraction: float = 0.03
    paragraph_end_fraction: float = 0.08
    hyphenation_fraction: float = 0.35
    dialogue_fraction: float = 0.25
    curly_quote_fraction: float = 0.8
    number_fraction: float = 0.02
    rare_token_fraction: float = 0.015
    accented_word_fraction: float = 0.01
    proper_noun_fraction: float = 0.04


@lru_cache(maxsize=4)
def _english_words(size: int) -> tuple[tuple[str, ...], np.ndarray]:
    from wordfreq import get_frequency_list

    # wordfreq's list is binned by centibels, most frequent first; the frequency of a bin is what
    # ``word_frequency`` returns for its words (to 3 significant digits), without a lookup per word
    words: list[str] = []
    freqs_list: list[float] = []
    for centibels, bin_words in enumerate(get_frequency_list("en")):
        frequency = 10.0 ** (-centibels / 100)
        rounded = round(frequency, math.floor(-math.log(frequency, 10)) + 3)
        for word in bin_words:
            if _PLAIN_WORD.match(word):
                words.append(word)
                freqs_list.append(rounded)
        if len(words) >= size:
            break
    words, freqs = tuple(words[:size]), np.array(freqs_list[:size], dtype=np.float64)
    # flatten Zipf's law a little: the very top words would otherwise fill most lines
    weights = freqs**0.8
    return words, np.cumsum(weights / weights.sum())


@lru_cache(maxsize=2)
def _accented_words() -> tuple[str, ...]:
    from wordfreq import top_n_list

    found: list[str] = []
    for lang in ("fr", "de", "es", "pt"):
        found.extend(w for w in top_n_list(lang, 20000) if _ACCENTED_WORD.match(w) and not w.isascii())
    return tuple(dict.fromkeys(found))


class LineTextGenerator:
    """Deterministic stream of text lines for a given seed."""

    def __init__(self, config: TextConfig, charset: Charset, seed: int) -> None:
        self.config = config
        self.charset = charset
        self.rng = np.random.default_rng(seed)
        self.words, self._cumulative = _english_words(config.vocabulary_size)
        self.accented = tuple(w for w in _accented_words() if charset.can_encode(w))
        self._pending: list[str] = []

    # -- words and sentences -------------------------------------------------
    def _word(self) -> str:
        rng, cfg = self.rng, self.config
        u = rng.random()
        if u < cfg.number_fraction:
            return self._number()
        if u < cfg.number_fraction + cfg.rare_token_fraction:
            return self._rare_token()
        if u < cfg.number_fraction + cfg.rare_token_fraction + cfg.accented_word_fraction and self.accented:
            return self.accented[rng.integers(len(self.accented))]
        word = self.words[int(np.searchsorted(self._cumulative, rng.random()))]
        if word == "i" or word.startswith("i'"):
            word = "I" + word[1:]
        elif rng.random() < cfg.proper_noun_fraction:
            word = word.capitalize()
        return word

    def _number(self) -> str:
        rng = self.rng
        kind = rng.integers(6)
        if kind == 0:
            return str(int(rng.integers(1500, 2000)))
        if kind == 1:
            return f"{int(rng.integers(1, 1000)) * 1000:,}"
        if kind == 2:
            return f"{int(rng.integers(1, 100000)):,}"
        if kind == 3:
            return str(int(rng.integers(0, 100)))
        if kind == 4:
            return f"{rng.integers(0, 1000)}.{rng.integers(0, 100):02d}"
        return str(int(rng.integers(1, 13)))

    def _rare_token(self) -> str:
        template = _SYMBOL_TOKENS[self.rng.integers(len(_SYMBOL_TOKENS))]
        word = self.words[int(self.rng.integers(min(3000, len(self.words))))]
        n = str(int(self.rng.integers(0, 1000)))
        return template.replace("{w}", word).replace("{n}", n).replace("{{", "{").replace("}}", "}")

    def _sentence(self) -> str:
        rng, cfg = self.rng, self.config
        length = int(np.clip(rng.gamma(4.0, 3.5), 2, 40))
        words = [self._word() for _ in range(length)]
        words[0] = words[0][:1].upper() + words[0][1:]
        out = []
        for i, word in enumerate(words):
            out.append(word)
            if i < length - 1:
                r = rng.random()
                if r < 0.07:
                    out[-1] += ","
                elif r < 0.085:
                    out[-1] += ";"
                elif r < 0.095:
                    out[-1] += ":"
                elif r < 0.11:
                    out[-1] += "—" + words[i + 1]
                    words[i + 1] = ""
        text = " ".join(w for w in out if w).replace("  ", " ")
        text = re.sub(r"—\s*", "—", text).replace(" —", "—")
        end = rng.choice([".", ".", ".", ".", "!", "?", "...", "…"], p=[0.2, 0.2, 0.2, 0.2, 0.08, 0.08, 0.02, 0.02])
        text = text.rstrip(",;:") + end
        if rng.random() < cfg.dialogue_fraction:
            text = f"“{text}”" if rng.random() < cfg.curly_quote_fraction else f'"{text}"'
        return text

    def _paragraph(self) -> list[str]:
        n = int(self.rng.integers(1, 7))
        return " ".join(self._sentence() for _ in range(n)).split(" ")

    # -- line setting ----------------------------------------------------------
    def _set_paragraph(self) -> list[str]:
        """Break one paragraph into lines of one random measure, with hyphenation."""
        rng, cfg = self.rng, self.config
        measure = int(rng.integers(cfg.min_chars, cfg.max_chars + 1))
        tokens = self._paragraph()
        lines: list[str] = []
        current = ""
        i = 0
        while i < len(tokens):
            token = tokens[i]
            candidate = f"{current} {token}" if current else token
            if len(candidate) <= measure:
                current = candidate
                i += 1
                continue
            room = measure - len(current) - (2 if current else 1)
            if (
                room >= 2
                and len(token) >= 5
                and token.isalpha()
                and rng.random() < cfg.hyphenation_fraction
            ):
                cut = int(rng.integers(2, min(room, len(token) - 2) + 1))
                head = token[:cut] + "-"
                current = f"{current} {head}" if current else head
                tokens[i] = token[cut:]
            if not current:  # a single token longer than the measure
                current = token
                i += 1
            lines.append(current)
            current = ""
        if current:
            lines.append(current)
        return lines

    def heading(self) -> str:
        """A running head or chapter heading in capitals."""
        n = int(self.rng.integers(1, 6))
        words = [self._word().strip(".,;:!?") or "the" for _ in range(n)]
        text = " ".join(words).upper()
        if self.rng.random() < 0.3:
            text = f"{self._number()} {text}"
        return text

    def caption(self) -> str:
        """A picture caption in title case."""
        n = int(self.rng.integers(2, 8))
        words = [self.words[int(np.searchsorted(self._cumulative, self.rng.random()))] for _ in range(n)]
        small = {"the", "a", "an", "of", "and", "in", "on", "at", "to", "with", "for", "by", "or"}
        titled = [w if (w in small and j) else w.capitalize() for j, w in enumerate(words)]
        return " ".join(titled) + self.rng.choice([".", ".", "", "!"])

    def _random_chars(self) -> str:
        chars = self.charset.characters.replace(" ", "")
        n = int(self.rng.integers(4, 30))
        groups = []
        while sum(len(g) for g in groups) < n:
            k = int(self.rng.integers(1, 8))
            groups.append("".join(chars[j] for j in self.rng.integers(0, len(chars), k)))
        return " ".join(groups)

    def next_line(self) -> str:
        rng, cfg = self.rng, self.config
        u = rng.random()
        special = (
            (cfg.heading_fraction, self.heading),
            (cfg.page_number_fraction, lambda: str(int(rng.integers(1, 1000)))),
            (cfg.caption_fraction, self.caption),
            (cfg.random_chars_fraction, self._random_chars),
        )
        for fraction, make in special:
            if u < fraction:
                return make()
            u -= fraction
        if not self._pending:
            lines = self._set_paragraph()
            # keep the short last line of a paragraph only some of the time
            if len(lines) > 1 and rng.random() > cfg.paragraph_end_fraction * 4:
                lines = lines[:-1]
            self._pending = lines
        return self._pending.pop(0)
