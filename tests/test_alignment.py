"""Pairing a page's read lines with its transcription's lines, for training data."""

from crnn.evaluation.alignment import label_for, pair_lines

TRUTH = [
    "It was a dark and stormy night; the rain fell",
    "in torrents, except at occasional intervals,",
    "when it was checked by a violent gust of wind",
    "which swept up the streets (for it is in London",
    "that our scene lies), rattling along the housetops.",
]


def test_a_clean_reading_pairs_every_line_in_order():
    pairs = pair_lines(list(TRUTH), TRUTH)
    assert [(p.read_index, p.truth_index) for p in pairs] == [(i, i) for i in range(5)]
    assert all(p.cer == 0 and p.truth == TRUTH[p.read_index] for p in pairs)


def test_the_label_is_the_transcription_not_the_reading():
    read = list(TRUTH)
    read[2] = "wben it was cbecked by a violent gust of wind"
    pairs = {p.read_index: p for p in pair_lines(read, TRUTH)}
    assert pairs[2].truth == TRUTH[2] and 0 < pairs[2].cer < 0.1


def test_an_omitted_running_head_and_a_missing_line_shift_nothing():
    read = ["THE LAST DAYS 12", TRUTH[0], TRUTH[1], TRUTH[3], TRUTH[4]]  # the layout lost line 2
    pairs = pair_lines(read, TRUTH, omits_first_line=True)
    assert [(p.read_index, p.truth_index) for p in pairs] == [(1, 0), (2, 1), (3, 3), (4, 4)]


def test_a_reading_far_from_every_line_is_not_paired():
    read = [TRUTH[0], "%% ## garbage from a picture ##", TRUTH[1]]
    assert [(p.read_index, p.truth_index) for p in pair_lines(read, TRUTH[:2])] == [(0, 0), (2, 1)]


def test_lines_around_a_rejoined_hyphenation_are_left_out():
    # the print breaks "occa-sional"; the transcription rejoined the word onto the upper line
    truth = ["in torrents, except at occasional", "intervals, when it was checked", "by a violent gust"]
    read = ["in torrents, except at occa-", "sional intervals, when it was checked", "by a violent gust"]
    assert [(p.read_index, p.truth_index) for p in pair_lines(read, truth)] == [(2, 2)]


def test_a_word_moved_to_another_line_by_the_transcription_is_not_paired():
    truth = ["the article Halizah (= taking", "off, untying) in the Jewish Cyclopaedia."]
    read = ["the article Halizah (=", "taking off, untying) in the Jewish Cyclopaedia."]
    assert pair_lines(read, truth) == []


def test_the_label_keeps_the_prints_typography():
    assert label_for("“The Mohatra, father !”", '"The Mohatra, father!"') == "“The Mohatra, father!”"
    assert label_for("it was—so he said—true", "it was-so he said-true") == "it was—so he said—true"
    assert label_for("it was—so he said—true", "it was-so she said-true") == "it was—so she said—true"
    assert label_for("the summer of r6r g.", "the summer of 1615.") == "the summer of 1615."


def test_cut_line_pairs_writes_pairs_a_finetune_reads(tmp_path, capsys):
    import json

    import cv2

    from crnn.cli.cut_lines import main
    from crnn.data import FolderDataset
    from crnn.synth.pages import PageGenerator

    pages = tmp_path / "book"
    pages.mkdir()
    truth = {}
    for seed in (1, 2):
        page = PageGenerator(seed).generate(two_pages=False)
        cv2.imwrite(str(pages / f"p{seed:03d}.png"), page.image)
        lines = [line.text for line in page.lines]
        truth[f"p{seed:03d}"] = lines
        # the transcription leaves out the first printed line, as Distributed Proofreaders' do
        (pages / f"p{seed:03d}.gt.txt").write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    out = tmp_path / "pairs"
    assert main([str(pages), "--out", str(out), "--omits-first-line", "bo*"]) == 0
    listing = json.loads((out / "pairs.json").read_text(encoding="utf-8"))
    # lines ending in a hyphen, and the lines after them, are left out: generated pages hyphenate often
    assert len(listing) >= 0.25 * sum(len(lines) - 1 for lines in truth.values())
    for pair in listing:
        page = pair["pair"].split("_")[1]
        assert pair["truth"] in truth[page][1:]  # never the omitted first line
    dataset = FolderDataset(out)
    assert len(dataset) == len(listing)
    first = next(iter(dataset))
    assert first.image.shape[0] == 32 and first.text in {p["truth"] for p in listing}
    assert f"{len(listing)} line pairs from 2 pages" in capsys.readouterr().out
