"""Fine-tuning on real line pairs: page-grouped validation, the synthetic mix, provenance, the command line."""

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from crnn.charset import Charset
from crnn.data import write_line_pair
from crnn.imaging import LineGeometry
from crnn.recognize import read_checkpoint
from crnn.synth.config import SynthConfig
from crnn.synth.dataset import generate_lines
from crnn.synth.render import select_fonts
from crnn.training import TrainingError
from crnn.training.batches import epoch_batches
from crnn.training.finetune import FinetuneConfig, finetune, held_out, page_of, prepare_finetune

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def synthetic(synthetic_data):
    return synthetic_data


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory):
    """Line pairs as a scanner gives them: un-normalized crops (taller, with paper around), named PAGE_NNN,
    eight pages of five lines; one line with a character outside the charset."""
    folder = tmp_path_factory.mktemp("real")
    config = replace(SynthConfig(), geometry=LineGeometry(64), seed=5)
    samples = list(generate_lines(config, "train", 0, 40, select_fonts(config.render)))
    for index, sample in enumerate(samples):
        image = cv2.copyMakeBorder(sample.image, 12, 12, 30, 30, cv2.BORDER_CONSTANT, value=255)
        text = sample.text if index != 7 else sample.text + " \u2603"
        write_line_pair(folder, f"doc{index // 5:02d}_{index % 5:03d}", image, text)
    return folder


def _config(tiny_checkpoint, real_folder, synthetic, **changes):
    base = FinetuneConfig(checkpoint=str(tiny_checkpoint), real=(str(real_folder),), synthetic=str(synthetic),
                          validation_fraction=0.3, batch_size=4, steps=4, steps_per_epoch=2, warmup_steps=1,
                          synthetic_validation_lines=5, seed=3, split_seed=3)
    return replace(base, **changes)


def test_lines_of_a_page_stay_together():
    assert page_of("BF-19380509b_EN_01_017") == "BF-19380509b_EN_01"
    assert page_of("greatlakes_p034-12") == "greatlakes_p034"
    pages = [f"page{i}" for i in range(400)]
    chosen = [p for p in pages if held_out(p, 0.2, 1)]
    assert 40 < len(chosen) < 120 and chosen == [p for p in pages if held_out(p, 0.2, 1)]


def test_real_lines_are_framed_split_by_page_and_counted(tiny_checkpoint, real_folder, synthetic):
    train_config, data, start = prepare_finetune(_config(tiny_checkpoint, real_folder, synthetic), ROOT)
    checkpoint = read_checkpoint(tiny_checkpoint)
    assert start == tiny_checkpoint and train_config.model == checkpoint.model_config
    counts = data.description["real"][str(real_folder)]
    assert counts["skipped_charset"] == 1 and counts["train"] + counts["validation"] == 39
    assert counts["train"] > 0 and counts["validation"] > 0
    real_train = counts["train"]
    assert all(image.shape[0] == checkpoint.geometry.height for image in data.train.images + data.validation.images)
    validation_texts = set(data.validation.labels)
    assert not validation_texts & set(data.train.labels[:real_train])
    # half of the samples real, half synthetic, whatever the two sets' sizes
    np.testing.assert_allclose(data.weights[:real_train].sum(), 0.5)
    np.testing.assert_allclose(data.weights.sum(), 1.0)
    batches = epoch_batches(data.train.widths, 8, 200, 0, 0, 20, data.weights)
    drawn = np.concatenate(batches)
    assert 0.45 < np.mean(drawn < real_train) < 0.55
    assert data.synthetic_validation is not None and len(data.synthetic_validation.images) == 5


def test_finetune_starts_from_the_checkpoint_and_records_its_data(tiny_checkpoint, real_folder, synthetic,
                                                                   tmp_path):
    config = _config(tiny_checkpoint, real_folder, synthetic)
    metadata = finetune(config, tmp_path / "run", ROOT, verbose=0)
    assert metadata["data"]["start_checkpoint"] == str(tiny_checkpoint)
    assert metadata["data"]["real"][str(real_folder)]["skipped_charset"] == 1
    assert metadata["data"]["synthetic"]["train_lines"] > 0
    # a fine-tune of this fine-tune records what both saw
    again = finetune(replace(config, checkpoint=str(tmp_path / "run" / "best")), tmp_path / "again", ROOT, verbose=0)
    assert again["data"]["start_data"] == metadata["data"]
    assert "synthetic_val_cer" in metadata["metrics"]
    with (tmp_path / "run" / "log.csv").open() as log:
        header = log.readline()
    assert "synthetic_val_cer" in header
    assert (tmp_path / "run" / "learning_curve.png").is_file()
    # a resumed run goes on from the step it stopped at
    metadata = finetune(replace(config, steps=6), tmp_path / "run", ROOT, resume=True, verbose=0)
    assert json.loads((tmp_path / "run" / "last" / "state.json").read_text())["step"] == 6


def test_finetune_really_starts_from_the_checkpoint(tiny_checkpoint, real_folder, synthetic, tmp_path):
    import keras

    from crnn.recognize.architectures import build_model
    from crnn.training.loop import run_training

    train_config, data, start = prepare_finetune(_config(tiny_checkpoint, real_folder, synthetic, steps=1,
                                                         steps_per_epoch=1, learning_rate=1e-12), ROOT)
    checkpoint = read_checkpoint(start)
    run_training(train_config, tmp_path / "run", data.train, data.validation, checkpoint.charset,
                 checkpoint.geometry, data.description, verbose=0, initial_model=start / "model.keras",
                 weights=data.weights)
    before = keras.saving.load_model(start / "model.keras", compile=False)
    after = build_model(checkpoint.model_config, Charset().num_classes, checkpoint.geometry.height)
    after.load_weights(tmp_path / "run" / "best" / "model.keras")
    # trainable weights barely move at this learning rate (batch norm statistics do move: they are not learned)
    for old, new in zip(before.trainable_weights, after.trainable_weights, strict=True):
        np.testing.assert_allclose(np.asarray(old), np.asarray(new), atol=1e-6)


def test_finetune_without_real_validation_pages_is_refused(tiny_checkpoint, real_folder, synthetic, tmp_path):
    with pytest.raises(TrainingError, match="pages held out"):
        prepare_finetune(_config(tiny_checkpoint, real_folder, synthetic, validation_fraction=1e-9), ROOT)
    with pytest.raises(TrainingError, match="no such folder"):
        prepare_finetune(_config(tiny_checkpoint, tmp_path / "none", synthetic), ROOT)


def test_finetune_cli_reports_errors_in_one_line(tmp_path, capsys, tiny_checkpoint):
    from crnn.cli.finetune import main

    code = main(["--checkpoint", str(tiny_checkpoint), "--real", str(tmp_path / "missing"), "--run-dir",
                 str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "no such folder" in err and len(err.splitlines()) == 1


def test_validate_compares_checkpoints_on_the_same_lines(tiny_checkpoint, real_folder, synthetic, capsys, tmp_path):
    import yaml

    from crnn.cli.finetune import main
    from crnn.config import to_dict
    from crnn.training.finetune import validate_checkpoints

    config = _config(tiny_checkpoint, real_folder, synthetic)
    results = validate_checkpoints(config, ROOT, [tiny_checkpoint])
    row = results[str(tiny_checkpoint)]
    assert row["real_lines"] > 0 and row["synthetic_lines"] == 5 and 0 <= row["real_val_exact"] <= 1
    path = tmp_path / "finetune.yaml"
    path.write_text(yaml.safe_dump(to_dict(config)), encoding="utf-8")
    assert main(["--config", str(path), "--validate", str(tiny_checkpoint)]) == 0
    out = capsys.readouterr().out
    assert str(tiny_checkpoint) in out and "% (" in out


def test_real_lines_are_framed_as_the_reader_frames_a_line_image(tiny_checkpoint, real_folder, synthetic, tmp_path):
    from crnn.layout import LayoutConfig, segment_page

    # a crop cut generously from a typescript: the line, with most of the line below it too
    config = replace(SynthConfig(), geometry=LineGeometry(48), seed=8)
    first, second = list(generate_lines(config, "train", 0, 2, select_fonts(config.render)))
    width = max(first.image.shape[1], second.image.shape[1])
    rows = [cv2.copyMakeBorder(s.image, 0, 0, 0, width - s.image.shape[1], cv2.BORDER_CONSTANT, value=255)
            for s in (first, second)]
    crowded = np.vstack([np.full((30, width), 255, np.uint8), rows[0], rows[1][:34]])
    folder = tmp_path / "crowded"
    folder.mkdir()
    for page in range(10):
        write_line_pair(folder, f"sheet{page}_001", crowded, first.text)
    geometry = read_checkpoint(tiny_checkpoint).geometry
    as_read = segment_page(crowded, LayoutConfig(), geometry, single_line=True).lines[0].crop
    runs = {framing: prepare_finetune(_config(tiny_checkpoint, folder, synthetic, line_framing=framing,
                                              validation_fraction=0.5), ROOT)[1]
            for framing in ("as_read", "normalize")}
    read_images = runs["as_read"].train.images[:1] + runs["as_read"].validation.images[:1]
    assert read_images and all(np.array_equal(image, as_read) for image in read_images)
    plain_images = runs["normalize"].train.images[:1] + runs["normalize"].validation.images[:1]
    assert plain_images and not any(np.array_equal(image, as_read) for image in plain_images)
    with pytest.raises(ValueError, match="line_framing"):
        FinetuneConfig(line_framing="stretched")


def test_the_held_out_pages_do_not_move_with_the_training_seed(tiny_checkpoint, real_folder, synthetic):
    def validation_labels(**changes):
        return sorted(prepare_finetune(_config(tiny_checkpoint, real_folder, synthetic, **changes), ROOT)[1]
                      .validation.labels)

    assert validation_labels(seed=3) == validation_labels(seed=4)
    assert any(validation_labels(split_seed=s) != validation_labels() for s in (4, 5, 6))
