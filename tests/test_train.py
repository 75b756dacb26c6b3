import csv
import json
import os
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest

from crnn.charset import Charset
from crnn.recognize.architectures import build_model
from crnn.recognize.decoders import greedy_decode_batch
from crnn.synth.config import SynthConfig
from crnn.synth.render import LineRenderer, select_fonts
from crnn.training import TrainConfig, TrainingError, train
from crnn.training.batches import LineSet, make_batch
from crnn.training.loss import make_trainer
from crnn.training.validation import evaluate

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dataset(synthetic_data):
    return synthetic_data


def _train_config(dataset, tiny_model_config, **changes):
    base = TrainConfig(data=str(dataset), batch_size=4, steps=6, steps_per_epoch=3, warmup_steps=1,
                       validation_lines=6, model=tiny_model_config)
    return replace(base, **changes)


def _strided_like_the_recipe(config):
    """The tiny stack with its first two blocks striding instead of pooling, as configs/train.yaml does."""
    first, second, *rest = config.blocks
    return replace(config, blocks=(replace(first, pool=(1, 1), stride=(2, 2)),
                                   replace(second, pool=(1, 1), stride=(2, 2)), *rest))


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["pooled", "strided"])
def test_tiny_model_overfits_eight_lines(tiny_model_config, stack):
    import keras

    if stack == "strided":
        tiny_model_config = _strided_like_the_recipe(tiny_model_config)

    keras.utils.set_random_seed(0)
    config = SynthConfig()
    fonts = [f for f in select_fonts(config.render) if f.family == "TeX Gyre Schola" and f.style == "regular"]
    texts = ["abc def", "the sea", "Nemo 20,000", "ink—spray", "“Help!”", "a fellow", "1867.", "squid"]
    charset = Charset()
    images = []
    renderer = LineRenderer(replace(config, degrade=replace(config.degrade, binarize_p=0, noise_p=0)), fonts, 3)
    for text in texts:
        rendered = None
        while rendered is None:
            rendered = renderer.render(text)
        images.append(rendered.image)
    lines = LineSet(images, texts, [charset.encode(t) for t in texts])
    model = build_model(tiny_model_config, charset.num_classes, 32)
    trainer = make_trainer(model, keras.optimizers.Adam(3e-3, clipnorm=5.0))
    x, y = make_batch(lines, np.arange(8), tiny_model_config, 32)
    decoded = []
    for step in range(1500):
        trainer.train_on_batch(x, y)
        if step % 50 == 49:
            logits = np.asarray(model(x, training=False))
            decoded = [d.text for d in greedy_decode_batch(logits, y[2], charset)]
            if decoded == texts:
                break
    assert decoded == texts, f"not learned after {step + 1} steps: {decoded}"


def test_validation_pads_batches_as_training_and_inference_do(tiny_model_config):
    """Odd batch widths shift a strided model's sampling grid; validation must not score on another grid."""
    from crnn.recognize.model import logit_lengths

    charset = Charset()
    widths_seen = []

    class RecordingModel:
        def predict_on_batch(self, images):
            widths_seen.append(images.shape[2])
            frames = int(logit_lengths(np.array([images.shape[2]]), tiny_model_config)[0])
            return np.zeros((images.shape[0], frames, charset.num_classes), np.float32)

    images = [np.full((32, width), 255, np.uint8) for width in (97, 131, 250, 251, 33)]
    lines = LineSet(images, ["a"] * 5, [charset.encode("a")] * 5)
    metrics = evaluate(RecordingModel(), lines, charset, tiny_model_config, width_quantum=32, batch_size=2)
    assert widths_seen == [128, 256, 256]  # sorted by width: (33, 97), (131, 250), (251,)
    assert metrics == {"val_cer": 1.0, "val_exact": 0.0}


def test_train_writes_checkpoint_log_and_curve(dataset, tiny_model_config, tmp_path):
    run = tmp_path / "run"
    best = train(_train_config(dataset, tiny_model_config), run, verbose=0)
    assert best["metrics"]["step"] in (3, 6)
    for name in ("best/model.keras", "best/charset.json", "best/config.json", "best/metadata.json",
                 "last/state.json", "log.csv", "learning_curve.png"):
        assert (run / name).is_file(), name
    metadata = json.loads((run / "best" / "metadata.json").read_text())
    config = json.loads((run / "best" / "config.json").read_text())
    assert "height" not in config["train"]["model"] and config["geometry"]["height"] == 32
    assert metadata["seed"] == 7 and "manifest_sha256" in metadata["data"] and metadata["git_commit"]
    # wall times in the metadata are only comparable with the machine that measured them
    assert metadata["machine"]["cpus"] == os.cpu_count() and metadata["machine"]["cpu_model"]
    assert metadata["machine"]["backend"] == keras.backend.backend()
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [3, 6]


def test_resume_continues_the_step_count(dataset, tiny_model_config, tmp_path):
    run = tmp_path / "run"
    train(_train_config(dataset, tiny_model_config, steps=3), run, verbose=0)
    train(_train_config(dataset, tiny_model_config, steps=9), run, resume=True, verbose=0)
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [3, 6, 9]
    assert json.loads((run / "last" / "state.json").read_text())["step"] == 9


def test_resume_continues_as_the_uninterrupted_run_would(dataset, tiny_model_config, tmp_path):
    import keras

    config = _train_config(dataset, replace(tiny_model_config, dropout=0.3), steps=6)
    train(config, tmp_path / "straight", verbose=0)
    # stopped by the time limit after its first epoch, with the 6-step learning-rate schedule
    train(replace(config, time_limit_minutes=1e-6), tmp_path / "stopped", verbose=0)
    train(config, tmp_path / "stopped", resume=True, verbose=0)
    straight, resumed = (keras.saving.load_model(tmp_path / run / "last" / "model.keras", compile=False)
                         for run in ("straight", "stopped"))
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    losses = [[float(row["loss"]) for row in csv.DictReader((tmp_path / run / "log.csv").open())]
              for run in ("straight", "stopped")]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)


def test_resume_with_another_architecture_is_refused(dataset, tiny_model_config, tmp_path):
    run = tmp_path / "run"
    train(_train_config(dataset, tiny_model_config, steps=3), run, verbose=0)
    other = replace(tiny_model_config, lstm_units=(12,))
    with pytest.raises(TrainingError, match="another architecture"):
        train(_train_config(dataset, other, steps=6), run, resume=True, verbose=0)


def test_data_of_another_line_height_is_refused(dataset, tiny_model_config, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(dataset, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["config"]["geometry"]["height"] = 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TrainingError, match="64 px high"):
        train(_train_config(copy, tiny_model_config), tmp_path / "run", verbose=0)


def test_missing_data_is_a_clear_error(tiny_model_config, tmp_path):
    with pytest.raises(TrainingError, match="run `make synth` first"):
        train(_train_config(tmp_path / "nothing", tiny_model_config), tmp_path / "run", verbose=0)


def test_charset_mismatch_is_refused(dataset, tiny_model_config, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(dataset, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["charset"]["characters"] = "abc"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TrainingError, match="charset"):
        train(_train_config(copy, tiny_model_config), tmp_path / "run", verbose=0)


def test_nan_loss_stops_without_a_checkpoint(dataset, tiny_model_config, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(TrainingError, match="loss became nan"):
        train(_train_config(dataset, tiny_model_config, learning_rate=float("nan")), run, verbose=0)
    assert not (run / "best").exists()


def test_train_cli_reports_errors_in_one_line(tmp_path, capsys):
    from crnn.cli.train import main

    code = main(["--data", str(tmp_path / "none"), "--run-dir", str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "make synth" in err and len(err.strip().splitlines()) == 1


def test_weight_average_is_the_mean_of_the_weights_it_was_given(tiny_model_config):
    from crnn.training.loop import WeightAverage

    model = build_model(replace(tiny_model_config, dropout=0.2), Charset().num_classes, 32)
    average = WeightAverage(model)
    seen = []
    for scale in (1.0, 3.0, -2.0):
        for variable in average.variables:
            variable.assign(np.full(variable.shape, scale, dtype="float32"))
        seen.append(scale)
        average.add()
    own = [np.asarray(v) for v in average.variables]
    with average.swapped_in():
        assert all(np.allclose(np.asarray(v), np.mean(seen)) for v in average.variables)
    assert all(np.array_equal(np.asarray(v), w) for v, w in zip(average.variables, own, strict=True))
    # the dropout's random state is integer and stays out of the mean
    random_state = [v for v in model.variables if v.name == "seed_generator_state"]
    assert random_state and not any(v is w for v in average.variables for w in random_state)


def test_averaged_weights_are_validated_and_kept_when_better(dataset, tiny_model_config, tmp_path):
    import crnn.recognize.layers  # noqa: F401  (registers the custom layers)
    from crnn.training.loop import WeightAverage

    config = _train_config(dataset, tiny_model_config, steps=9, average_last_epochs=2)
    best = train(config, tmp_path / "run", verbose=0)
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert [r["averaged_val_cer"] == "" for r in rows] == [True, False, False]
    best_single = min(float(r["val_cer"]) for r in rows)
    best_average = min(float(r["averaged_val_cer"]) for r in rows[1:])
    assert best["metrics"]["val_cer"] == pytest.approx(min(best_single, best_average), abs=1e-5)
    assert ("averaged_epochs" in best["metrics"]) == (best_average < best_single)
    # the average resumes with the run: stopped after two epochs, then finished
    train(replace(config, time_limit_minutes=1e-6), tmp_path / "stopped", verbose=0)
    train(replace(config, time_limit_minutes=1e-6), tmp_path / "stopped", resume=True, verbose=0)
    train(config, tmp_path / "stopped", resume=True, verbose=0)
    resumed = [float(r["averaged_val_cer"]) for r in csv.DictReader((tmp_path / "stopped" / "log.csv").open())
               if r["averaged_val_cer"]]
    straight = [float(r["averaged_val_cer"]) for r in rows if r["averaged_val_cer"]]
    np.testing.assert_allclose(resumed, straight, atol=1e-6)
    assert WeightAverage.FILE in {p.name for p in (tmp_path / "stopped" / "last").iterdir()}
    with pytest.raises(ValueError):
        TrainConfig(average_last_epochs=-1)
