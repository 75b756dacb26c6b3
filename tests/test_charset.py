import unicodedata

import pytest

from crnn.charset import DEFAULT_ALPHABET, Charset, UnencodableCharacterError


def test_blank_is_index_zero_and_never_a_character():
    charset = Charset()
    assert charset.blank_index == 0
    assert charset.num_classes == len(DEFAULT_ALPHABET) + 1
    assert 0 not in charset.encode(DEFAULT_ALPHABET)
    assert charset.encode("A")[0] == DEFAULT_ALPHABET.index("A") + 1


def test_default_alphabet_covers_book_typography():
    charset = Charset()
    for character in "“”‘’—–…éçœ0123456789!?;:'\"-":
        assert character in charset, character


def test_encode_decode_round_trip():
    charset = Charset()
    text = "“Help!” he cried—at 20,000 leagues… Café"
    assert charset.decode(charset.encode(text)) == text


def test_decode_skips_blank_and_padding():
    charset = Charset("abc")
    assert charset.decode([0, 1, 0, -1, 2, 3, 3]) == "abcc"


def test_nfc_and_nfd_encode_identically():
    charset = Charset()
    composed = "Café Noël"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert charset.encode(decomposed) == charset.encode(composed)


def test_unencodable_character_is_named_in_the_error():
    charset = Charset("abc ")
    with pytest.raises(UnencodableCharacterError, match="U\\+00A7") as info:
        charset.encode("ab § c")
    assert info.value.character == "§"
    assert charset.missing("ab§x") == {"§", "x"}
    assert not charset.can_encode("ax")


def test_json_round_trip(tmp_path):
    charset = Charset("xyz“”—é")
    path = tmp_path / "charset.json"
    charset.save(path)
    loaded = Charset.load(path)
    assert loaded == charset
    assert loaded.encode("z—é") == charset.encode("z—é")


def test_rejects_duplicates_and_non_nfc():
    with pytest.raises(ValueError, match="duplicate"):
        Charset("abca")
    with pytest.raises(ValueError, match="NFC"):
        Charset(unicodedata.normalize("NFD", "é"))


def test_from_texts_is_minimal_and_sorted():
    assert Charset.from_texts(["bca", "a b"]).characters == " abc"
