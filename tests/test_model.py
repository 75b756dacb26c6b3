import json
from dataclasses import replace

import numpy as np
import pytest

from crnn.charset import Charset
from crnn.config import ConfigError, from_dict, to_dict
from crnn.imaging import LineGeometry
from crnn.recognize.architectures import ARCHITECTURES, build_model, inference_model
from crnn.recognize.backends import BACKENDS, load_backend
from crnn.recognize.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from crnn.recognize.model import ConvBlock, ModelConfig, can_fit, frame_step_px, logit_lengths, min_frames_for
from crnn.recognize.recognizer import load_recognizer

H = 32  # the line height the tests' models read


@pytest.mark.parametrize("width", [32, 37, 100, 257, 640])
def test_logit_length_matches_the_real_output(tiny_model_config, width):
    model = build_model(tiny_model_config, 10, H)
    out = model(np.zeros((1, 32, width, 1), np.float32))
    assert out.shape[1] == int(logit_lengths(width, tiny_model_config))


def test_logit_length_follows_the_layer_stack():
    config = ModelConfig(blocks=(ConvBlock(4, 1, (2, 3)), ConvBlock(4, 1, (2, 1)), ConvBlock(4, 1, (2, 2)),
                                 ConvBlock(4, 1, (2, 1)), ConvBlock(4, 1, (2, 1))))
    assert list(logit_lengths([60, 61, 65], config)) == [10, 10, 10]
    model = build_model(config, 5, H)
    assert model(np.zeros((1, 32, 65, 1), np.float32)).shape[1] == 10


STRIDED = ModelConfig(blocks=(ConvBlock(4, 1, (1, 1), (2, 2)), ConvBlock(4, 1, (1, 1), (2, 3)),
                              ConvBlock(4, 1, (2, 1)), ConvBlock(4, 1, (2, 1)), ConvBlock(4, 1, (2, 1))),
                      lstm_units=(4,), dropout=0.0)


def test_strided_convolutions_divide_the_width_rounding_up():
    # 'same' padding: 61 px -> 31 -> 11 frames, where pooling would floor to 30 -> 10
    assert list(logit_lengths([60, 61, 66, 67], STRIDED)) == [10, 11, 11, 12]
    assert frame_step_px(STRIDED) == 6
    model = build_model(STRIDED, 5, H)
    for width in (60, 61, 66, 67):
        assert model(np.zeros((1, 32, width, 1), np.float32)).shape[1] == int(logit_lengths(width, STRIDED))


def test_strides_count_toward_the_height_reduction():
    config = ModelConfig(blocks=(ConvBlock(4, 1, (2, 2), (2, 2)),) * 5)
    assert config.output_height(32) == 0
    with pytest.raises(ValueError, match="reduce height"):
        build_model(config, 5, 32)


def test_a_zero_stride_is_a_config_error():
    with pytest.raises(ConfigError, match="at least 1"):
        from_dict(ModelConfig, {"blocks": [{"filters": 4, "pool": [2, 2], "stride": [0, 1]}]})


def test_config_must_reduce_height_to_one():
    config = ModelConfig(blocks=(ConvBlock(4, 1, (2, 2)),))
    with pytest.raises(ValueError, match="reduce height 32 to 1, it leaves 16"):
        config.check_height(32)
    ModelConfig().check_height(32)


def test_unknown_architecture_is_named(tiny_model_config):
    with pytest.raises(ValueError, match="unknown architecture 'nope'"):
        build_model(replace(tiny_model_config, architecture="nope"), 5, H)
    assert "crnn" in ARCHITECTURES


def test_ctc_frame_requirements():
    assert min_frames_for([1, 2, 3]) == 3
    assert min_frames_for([1, 1, 2, 2, 2]) == 8
    config = ModelConfig()
    assert can_fit([1, 2, 3], 12, config) and not can_fit([1, 1, 1], 12, config)


def test_model_config_round_trips_through_a_dict(tiny_model_config):
    assert from_dict(ModelConfig, json.loads(json.dumps(to_dict(tiny_model_config)))) == tiny_model_config


def test_model_outputs_logits_not_probabilities(tiny_model_config):
    model = build_model(tiny_model_config, 7, H)
    out = np.asarray(model(np.random.default_rng(0).random((2, 32, 64, 1), dtype=np.float32)))
    assert not np.allclose(out.sum(-1), 1.0)
    assert (out < 0).any()


def test_save_load_round_trip_gives_identical_logits(tiny_model_config, tmp_path):
    charset = Charset("abc")
    model = build_model(tiny_model_config, charset.num_classes, H)
    images = np.random.default_rng(1).random((3, 32, 96, 1), dtype=np.float32)
    before = np.asarray(model(images, training=False))
    save_checkpoint(tmp_path / "ckpt", model, charset, LineGeometry(), {"model": to_dict(tiny_model_config)},
                    {"seed": 1})
    recognizer = load_recognizer(tmp_path / "ckpt")
    after = np.asarray(recognizer.backend.model(images, training=False))
    np.testing.assert_allclose(before, after, rtol=1e-6, atol=1e-6)
    assert recognizer.charset == charset
    assert recognizer.checkpoint.model_config == tiny_model_config
    # the backend's folded model reads as the saved one does
    np.testing.assert_allclose(recognizer.backend.logits(images), before, rtol=1e-4, atol=1e-4)


def test_checkpoint_description_reads_without_a_backend(tiny_checkpoint):
    checkpoint = read_checkpoint(tiny_checkpoint)
    assert checkpoint.geometry.height == H and checkpoint.charset == Charset()
    assert checkpoint.model_version == "tiny@abc/step5"
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        load_backend(checkpoint, "nope")
    assert "keras" in BACKENDS


def test_checkpoint_from_before_the_single_line_height_still_loads(tiny_checkpoint, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(tiny_checkpoint, old)
    config = json.loads((old / "config.json").read_text())
    config["train"]["model"]["height"] = H
    (old / "config.json").write_text(json.dumps(config))
    assert read_checkpoint(old).model_config == read_checkpoint(tiny_checkpoint).model_config
    config["train"]["model"]["height"] = 48
    (old / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="differs from the line height"):
        read_checkpoint(old)


def test_checkpoint_with_a_mismatched_charset_is_refused(tiny_model_config, tmp_path):
    model = build_model(tiny_model_config, Charset("abc").num_classes, H)
    save_checkpoint(tmp_path / "ckpt", model, Charset("abc"), LineGeometry(),
                    {"model": to_dict(tiny_model_config)}, {})
    Charset("abcd").save(tmp_path / "ckpt" / "charset.json")
    with pytest.raises(CheckpointError, match="outputs 4 classes but its charset has 5"):
        load_recognizer(tmp_path / "ckpt")


def test_missing_checkpoint_files_are_named(tmp_path):
    (tmp_path / "ckpt").mkdir()
    with pytest.raises(CheckpointError, match=r"missing model\.keras"):
        read_checkpoint(tmp_path / "ckpt")


@pytest.mark.parametrize("width", [32, 101, 300])
@pytest.mark.parametrize("strided", [False, True])
def test_folded_inference_model_gives_the_same_logits(tiny_model_config, width, strided):
    config = STRIDED if strided else tiny_model_config
    model = build_model(config, 9, H)
    rng = np.random.default_rng(width)
    for layer in model.layers:  # batch statistics as a trained model would have them, not 0 and 1
        if layer.name.startswith("bn"):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(0, 0.5, beta.shape),
                               rng.normal(0, 0.5, mean.shape), rng.uniform(0.2, 3, variance.shape)])
    images = rng.random((2, 32, width, 1), dtype=np.float32)
    folded = inference_model(model, config, H)
    assert not any(layer.name.startswith("bn") for layer in folded.layers)
    np.testing.assert_allclose(np.asarray(folded(images)), np.asarray(model(images, training=False)),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("frames", [1, 23])
def test_bidirectional_lstm_computes_what_the_keras_pair_computes(frames):
    import keras

    from crnn.recognize.layers import BidirectionalLSTM

    sequences = np.random.default_rng(frames).normal(size=(3, frames, 10)).astype(np.float32)
    keras_pair = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True))
    expected = np.asarray(keras_pair(sequences))
    ours = BidirectionalLSTM(6)
    ours(sequences)
    assert ours.count_params() == keras_pair.count_params()
    for direction, cell in (("forward", keras_pair.forward_layer.cell), ("backward", keras_pair.backward_layer.cell)):
        getattr(ours, f"{direction}_kernel").assign(cell.kernel)
        getattr(ours, f"{direction}_bias").assign(cell.bias)
        getattr(ours, f"{direction}_steps").cell.recurrent_kernel.assign(cell.recurrent_kernel)
    np.testing.assert_allclose(np.asarray(ours(sequences)), expected, rtol=1e-5, atol=1e-6)


def test_bidirectional_lstm_starts_as_keras_lstm_does():
    from crnn.recognize.layers import BidirectionalLSTM

    layer = BidirectionalLSTM(4)
    layer(np.zeros((1, 2, 3), dtype=np.float32))
    forget_gate_bias = np.asarray(layer.backward_bias)[4:8]
    np.testing.assert_array_equal(forget_gate_bias, 1.0)
    assert np.count_nonzero(np.asarray(layer.forward_bias)) == 4
