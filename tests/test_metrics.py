import unicodedata

import pytest

from crnn.evaluation.metrics import (
    LinePair,
    align_lines,
    cer,
    character_errors,
    fold_typography,
    normalize_for_scoring,
    wer,
)


def test_known_character_error_rate():
    assert cer("Fnord", "Food") == pytest.approx(2 / 5)


def test_identical_texts_score_zero():
    assert cer("the sea", "the sea") == 0.0
    assert wer("the sea", "the sea") == 0.0


def test_nfc_and_nfd_forms_score_zero():
    text = "Noël à la côte"
    assert cer(text, unicodedata.normalize("NFD", text)) == 0.0
    assert wer(text, unicodedata.normalize("NFD", text)) == 0.0


def test_empty_hypothesis_scores_one():
    assert cer("abc def", "") == 1.0
    assert wer("abc def", "") == 1.0


def test_empty_reference():
    assert cer("", "") == 0.0
    assert cer("", "x") == 1.0


def test_whitespace_is_collapsed():
    assert cer("a  b\n c", " a b c ") == 0.0


def test_micro_average_weights_by_reference_length():
    # 1 error in 10 characters and 1 error in 2: micro = 2/12, not the macro mean 0.3
    assert cer(["abcdefghij", "ab"], ["abcdefghiX", "aX"]) == pytest.approx(2 / 12)
    errors = character_errors(["abcdefghij", "ab"], ["abcdefghiX", "aX"])
    assert (errors.errors, errors.reference_length) == (2, 12)


def test_word_error_rate_on_whitespace_tokens():
    assert wer("the quick brown fox", "the quack brown") == pytest.approx(2 / 4)


def test_typography_folding():
    assert fold_typography("“Help!” he said—it’s …") == '"Help!" he said-it\'s ...'
    assert cer("“Help!”", '"Help!"') == pytest.approx(2 / 7)
    assert cer("“Help!”", '"Help!"', fold=True) == 0.0
    assert wer("fel—low", "fel-low", fold=True) == 0.0


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        cer(["a", "b"], ["a"])


def test_normalize_for_scoring():
    assert normalize_for_scoring("  e\u0301te\u0301\t\n x ") == "été x"


def test_align_lines_pairs_missing_and_extra_lines():
    refs = ["first line of text", "second line here", "third and last"]
    hyps = ["first lime of text", "noise", "third and last", "extra"]
    pairs = align_lines(refs, hyps)
    paired = [(p.reference, p.hypothesis) for p in pairs]
    assert ("first line of text", "first lime of text") in paired
    assert ("third and last", "third and last") in paired
    assert [p.reference for p in pairs if p.reference] == refs
    assert [p.hypothesis for p in pairs if p.hypothesis] == hyps
    assert LinePair("abc", "abd").errors == 1


def test_align_lines_with_a_dropped_line():
    pairs = align_lines(["alpha beta", "gamma delta", "epsilon"], ["alpha beta", "epsilon"])
    assert pairs == [
        LinePair("alpha beta", "alpha beta"),
        LinePair("gamma delta", None),
        LinePair("epsilon", "epsilon"),
    ]
