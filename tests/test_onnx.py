"""The ONNX export and the ONNX Runtime backend: parity with Keras, refusals, and a reading path without TensorFlow."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from crnn.charset import Charset
from crnn.config import to_dict
from crnn.export import EXPORTERS, ExportError, compare_backends, export_checkpoint, export_onnx, parity_lines
from crnn.imaging import LineGeometry
from crnn.recognize import DEFAULT_CHECKPOINT, CheckpointError, ConvBlock, ModelConfig, read_checkpoint
from crnn.recognize.architectures import build_model
from crnn.recognize.backends import KerasBackend, OnnxBackend, load_backend
from crnn.recognize.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parent.parent
LINE_HEIGHT = 32  # as conftest's tiny checkpoint

# strided first blocks, as the committed recipe has: 'same' padding of odd and even widths must agree
STRIDED = ModelConfig(blocks=(ConvBlock(8, 1, (1, 1), (2, 2)), ConvBlock(8, 1, (1, 1), (2, 2)),
                              ConvBlock(12, 1, (2, 1)), ConvBlock(12, 2, (2, 1)), ConvBlock(16, 1, (2, 1))),
                      lstm_units=(12, 12), dropout=0.1)


@pytest.fixture(scope="module")
def lines() -> list[np.ndarray]:
    return parity_lines(12, LineGeometry(LINE_HEIGHT))


def _checkpoint(path, config: ModelConfig, seed: int = 3):
    """An untrained checkpoint whose batch normalizations hold statistics as a trained model's would."""
    model = build_model(config, Charset().num_classes, LINE_HEIGHT)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.startswith("bn"):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(0, 0.5, beta.shape),
                               rng.normal(0, 0.5, mean.shape), rng.uniform(0.2, 3, variance.shape)])
    save_checkpoint(path, model, Charset(), LineGeometry(LINE_HEIGHT),
                    {"model": to_dict(config), "width_quantum": 32}, {"git_commit": "abc", "metrics": {"step": 1}})
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory, lines):
    """A strided tiny checkpoint with its ONNX export."""
    path = _checkpoint(tmp_path_factory.mktemp("onnx") / "ckpt", STRIDED)
    report = export_onnx(path, lines=lines)
    return path, report


def test_export_gives_the_keras_logits_and_text(exported, lines):
    path, report = exported
    assert report.path == path / "model.onnx" and report.path.is_file()
    assert report.parity.lines == len(lines) and report.parity.max_abs_difference <= 1e-4
    checkpoint = read_checkpoint(path)
    # lines the export was not checked on, in batches of other widths
    fresh = parity_lines(9, checkpoint.geometry, seed=11)
    parity = compare_backends(KerasBackend(checkpoint), OnnxBackend(checkpoint), checkpoint, fresh, batch_size=4)
    assert parity.passed(1e-4), parity.summary()


@pytest.mark.parametrize("width", [31, 64, 417])
def test_onnx_output_has_the_frames_the_layer_stack_says(exported, width):
    from crnn.recognize.model import logit_lengths

    checkpoint = read_checkpoint(exported[0])
    images = np.random.default_rng(width).random((3, LINE_HEIGHT, width, 1), dtype=np.float32)
    logits = OnnxBackend(checkpoint).logits(images)
    assert logits.shape == (3, int(logit_lengths(width, STRIDED)), Charset().num_classes)
    np.testing.assert_allclose(logits, KerasBackend(checkpoint).logits(images), atol=1e-4)


def test_auto_picks_onnx_when_there_is_an_export(exported, tiny_checkpoint):
    assert load_backend(read_checkpoint(exported[0])).name == "onnx"
    assert load_backend(read_checkpoint(tiny_checkpoint)).name == "keras"


def test_export_that_does_not_read_the_same_is_refused(exported, lines):
    path = exported[0]
    before = (path / "model.onnx").read_bytes()
    with pytest.raises(ExportError, match=r"export refused.*left as it was"):
        export_onnx(path, lines=lines, tolerance=1e-12)
    assert (path / "model.onnx").read_bytes() == before
    assert not [p for p in path.iterdir() if p.name.startswith(".export-")]


@pytest.mark.slow
def test_keras_own_onnx_export_reads_the_same(tmp_path, tiny_model_config, lines):
    path = _checkpoint(tmp_path / "ckpt", tiny_model_config)
    report = export_checkpoint(path, "onnx-keras", lines=lines)
    assert report.format == "onnx-keras" and report.parity.passed(1e-4)
    import onnx

    ops = {node.op_type for node in onnx.load(str(report.path)).graph.node}
    assert "Loop" in ops and "LSTM" not in ops  # what makes it slower than the default export


def test_exporters_are_a_registry(tiny_checkpoint):
    assert set(EXPORTERS) >= {"onnx", "onnx-keras"}
    with pytest.raises(ValueError, match="unknown export format"):
        export_checkpoint(tiny_checkpoint, "tflite")


def test_committed_model_has_a_fresh_onnx_twin():
    checkpoint = read_checkpoint(DEFAULT_CHECKPOINT)
    onnx_backend = OnnxBackend(checkpoint)  # refuses a stale or foreign export
    lines = parity_lines(24, checkpoint.geometry, seed=5)
    parity = compare_backends(KerasBackend(checkpoint), onnx_backend, checkpoint, lines)
    assert parity.passed(1e-4), parity.summary()


# --- bad exports ---------------------------------------------------------------------------------------------

def _copy(exported, tmp_path):
    path = tmp_path / "ckpt"
    shutil.copytree(exported[0], path)
    return path


def _spoil(path, how: str) -> None:
    if how == "corrupt":
        (path / "model.onnx").write_bytes(b"\x08\x07 not a protobuf" * 10)
    elif how == "empty":
        (path / "model.onnx").write_bytes(b"")
    elif how == "stale":  # a retrained model.keras beside the old export
        _checkpoint(path.with_name("other"), STRIDED, seed=9)
        shutil.copy(path.with_name("other") / "model.keras", path / "model.keras")
    elif how == "charset":
        import onnx

        model = onnx.load(str(path / "model.onnx"))
        for prop in model.metadata_props:
            if prop.key == "crnn.charset":
                prop.value = Charset("abc").to_json()
        onnx.save(model, str(path / "model.onnx"))


@pytest.mark.parametrize(("how", "reason"), [("corrupt", "cannot load"), ("empty", "cannot load"),
                                             ("stale", "stale"), ("charset", "another charset")])
def test_a_bad_export_is_refused_in_one_line_naming_the_file(exported, tmp_path, how, reason):
    path = _copy(exported, tmp_path)
    _spoil(path, how)
    with pytest.raises(CheckpointError) as info:
        OnnxBackend(read_checkpoint(path))
    message = str(info.value)
    assert reason in message and str(path / "model.onnx") in message and "\n" not in message


def test_auto_falls_back_to_keras_with_a_warning(exported, tmp_path, caplog):
    path = _copy(exported, tmp_path)
    _spoil(path, "corrupt")
    backend = load_backend(read_checkpoint(path))
    assert backend.name == "keras"
    assert any("model.onnx" in record.getMessage() and "keras" in record.getMessage() for record in caplog.records)


def test_without_keras_a_bad_export_is_an_error(exported, tmp_path, monkeypatch):
    import crnn.recognize.backends as backends

    path = _copy(exported, tmp_path)
    _spoil(path, "corrupt")
    monkeypatch.setattr(backends, "keras_installed", lambda: False)
    with pytest.raises(CheckpointError, match="cannot load"):
        load_backend(read_checkpoint(path))


def test_asking_for_onnx_without_an_export_names_the_file(tiny_checkpoint):
    with pytest.raises(CheckpointError, match=r"model\.onnx not found.*make export"):
        load_backend(read_checkpoint(tiny_checkpoint), "onnx")
    with pytest.raises(ValueError, match="unknown backend"):
        load_backend(read_checkpoint(tiny_checkpoint), "tensorrt")


# --- command lines -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page_image(tmp_path_factory):
    from crnn.synth.pages import PageGenerator

    path = tmp_path_factory.mktemp("page") / "page.png"
    cv2.imwrite(str(path), PageGenerator(5).generate(two_pages=False).image)
    return path


def test_ocr_page_reads_the_same_with_either_backend(capsys, page_image):
    from crnn.cli.ocr_page import main

    texts = {}
    for backend in ("onnx", "keras"):
        assert main([str(page_image), "--backend", backend, "--format", "json"]) == 0
        texts[backend] = [line["text"] for block in json.loads(capsys.readouterr().out)["blocks"]
                          for line in block["lines"]]
    assert texts["onnx"] == texts["keras"] and len(texts["onnx"]) > 5


def test_ocr_page_with_a_corrupt_export_and_backend_onnx_is_a_one_line_error(exported, tmp_path, capsys, page_image):
    from crnn.cli.ocr_page import main

    path = _copy(exported, tmp_path)
    _spoil(path, "corrupt")
    assert main([str(page_image), "--checkpoint", str(path), "--backend", "onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "model.onnx" in err


def test_export_command(exported, tmp_path, capsys):
    from crnn.cli.export import main

    path = _copy(exported, tmp_path)
    (path / "model.onnx").unlink()
    assert main(["--checkpoint", str(path), "--lines", "4"]) == 0
    assert "parity with Keras on 4 lines" in capsys.readouterr().out and (path / "model.onnx").is_file()
    assert main(["--checkpoint", str(tmp_path / "none")]) == 2
    assert main(["--checkpoint", str(path), "--lines", "4", "--tolerance", "1e-12"]) == 1
    assert "export refused" in capsys.readouterr().err


# --- the reading process: no TensorFlow, no Keras --------------------------------------------------------------

# run in a subprocess: ocr_page's main on a page, then the deep-learning modules it imported.
# With BLOCK, importing them fails, as on an install of the base package without the train extra.
_READ_AND_LIST = """
import json, sys
BLOCKED = ("tensorflow", "keras", "tf2onnx", "albumentations", "trdg", "jax", "torch")
if sys.argv[2] == "block":
    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is not installed here")
    sys.meta_path.insert(0, Refuse())
sys.path.insert(0, sys.argv[3])
from crnn.cli.ocr_page import main
code = main([sys.argv[1]])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
# numpy's masked arrays are a sizeable import that reading a page does not need
print(json.dumps({"code": code, "loaded": loaded, "masked_arrays": "numpy.ma" in sys.modules}))
"""


@pytest.mark.parametrize("mode", ["list", "block"])
def test_reading_a_page_imports_neither_tensorflow_nor_keras(page_image, mode):
    done = subprocess.run([sys.executable, "-c", _READ_AND_LIST, str(page_image), mode, str(ROOT)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    *text, result = done.stdout.strip().splitlines()
    outcome = json.loads(result)
    assert outcome == {"code": 0, "loaded": [], "masked_arrays": False}
    assert len([line for line in text if line.strip()]) > 5
