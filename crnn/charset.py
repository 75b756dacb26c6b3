"""The alphabet of the recognizer: one object maps text to label ids and back.

Index 0 is the CTC blank, which is what ``keras.losses.CTC`` and
``keras.ops.ctc_decode(mask_index=0)`` assume. Every text is NFC-normalized
before it is encoded, so a precomposed "é" and "e" + combining acute are the
same label sequence.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BLANK = "\u2205"  # display symbol for index 0; never a real character of the alphabet

_ASCII_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
_BOOK_PUNCTUATION = "\u201c\u201d\u2018\u2019\u2014\u2013\u2026"  # “ ” ‘ ’ — – …
_ACCENTED_LATIN = "àâäáãåæçèéêëìíîïñòóôöõøœùúûüýÿÀÂÄÁÃÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÖÕØŒÙÚÛÜÝß"
DEFAULT_ALPHABET = _ASCII_PRINTABLE + _BOOK_PUNCTUATION + _ACCENTED_LATIN


class UnencodableCharacterError(ValueError):
    """Raised when a text holds a character the alphabet does not have."""

    def __init__(self, character: str, text: str) -> None:
        self.character = character
        self.text = text
        name = unicodedata.name(character, "unnamed")
        super().__init__(
            f"character {character!r} (U+{ord(character):04X} {name}) is not in the charset; "
            f"text: {text[:60]!r}"
        )


def normalize(text: str) -> str:
    """NFC-normalize a text: the one canonical form every label lives in."""
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class Charset:
    """An ordered alphabet with the CTC blank at index 0.

    ``characters`` are the real symbols; label id ``i + 1`` is ``characters[i]``.
    """

    characters: str = DEFAULT_ALPHABET
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        chars = normalize(self.characters)
        if chars != self.characters:
            raise ValueError("charset characters must be NFC-normalized")
        if len(set(chars)) != len(chars):
            duplicates = sorted({c for c in chars if chars.count(c) > 1})
            raise ValueError(f"charset has duplicate characters: {duplicates!r}")
        if BLANK in chars:
            raise ValueError(f"{BLANK!r} is reserved for the CTC blank")
        object.__setattr__(self, "_index", {c: i + 1 for i, c in enumerate(chars)})

    @property
    def num_classes(self) -> int:
        """Size of the model's output layer: the characters plus the blank."""
        return len(self.characters) + 1

    @property
    def blank_index(self) -> int:
        return 0

    def __len__(self) -> int:
        return len(self.characters)

    def __contains__(self, character: str) -> bool:
        return character in self._index

    def missing(self, text: str) -> set[str]:
        """Characters of ``text`` (after NFC) that this charset cannot encode."""
        return {c for c in normalize(text) if c not in self._index}

    def can_encode(self, text: str) -> bool:
        return not self.missing(text)

    def encode(self, text: str) -> list[int]:
        """Label ids of ``text``; raises ``UnencodableCharacterError`` on an unknown character."""
        text = normalize(text)
        ids = []
        for character in text:
            try:
                ids.append(self._index[character])
            except KeyError:
                raise UnencodableCharacterError(character, text) from None
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of label ids; blanks (0) and padding (negative) are skipped, no CTC collapsing."""
        chars = self.characters
        return "".join(chars[i - 1] for i in ids if 0 < int(i) <= len(chars))

    def to_dict(self) -> dict[str, object]:
        return {"characters": self.characters, "blank_index": 0, "normalization": "NFC"}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Charset:
        if data.get("blank_index", 0) != 0:
            raise ValueError("only charsets with the CTC blank at index 0 are supported")
        return cls(str(data["characters"]))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Charset:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Charset:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Charset:
        """The smallest charset that encodes all ``texts``, in code-point order."""
        return cls("".join(sorted({c for t in texts for c in normalize(t)})))
