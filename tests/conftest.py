import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest

from crnn.recognize.model import ConvBlock, ModelConfig

ROOT = Path(__file__).resolve().parent.parent
# the reference page and the real-page development set live beside the project, never inside it
SHARED = ROOT.parent / "shared"
LINE_HEIGHT = 32


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``; tests that need it skip cleanly where it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared not present")
    return SHARED


@pytest.fixture(scope="session")
def reference_page(shared_dir) -> tuple[Path, list[str]]:
    """The reference photograph and its transcription's non-empty lines."""
    image = shared_dir / "reference" / "20000-leagues-006.jpg"
    truth = image.with_name("20000-leagues-006.gt.txt")
    if not (image.is_file() and truth.is_file()):
        pytest.skip("../shared/reference not present")
    return image, [line for line in truth.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def tiny_model_config() -> ModelConfig:
    """A few filters and a few LSTM units: enough to learn a handful of lines on a CPU in seconds."""
    return ModelConfig(
        blocks=(
            ConvBlock(8, 1, (2, 2)),
            ConvBlock(16, 1, (2, 2)),
            ConvBlock(16, 1, (2, 1)),
            ConvBlock(24, 1, (2, 1)),
            ConvBlock(24, 1, (2, 1)),
        ),
        lstm_units=(24,),
        dropout=0.0,
    )


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_model_config) -> Path:
    """An untrained tiny model saved as a checkpoint (it reads nonsense, quickly)."""
    from crnn.charset import Charset
    from crnn.config import to_dict
    from crnn.imaging import LineGeometry
    from crnn.recognize.architectures import build_model
    from crnn.recognize.checkpoint import save_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    charset = Charset()
    model = build_model(tiny_model_config, charset.num_classes, LINE_HEIGHT)
    save_checkpoint(path, model, charset, LineGeometry(LINE_HEIGHT), {"model": to_dict(tiny_model_config)},
                    {"git_commit": "abc", "metrics": {"step": 5}})
    return path


@pytest.fixture(scope="module")
def synthetic_data(tmp_path_factory) -> Path:
    """A data set of 48 synthetic lines, a quarter of them validation (a few seconds to make)."""
    from dataclasses import replace

    from crnn.config import load_config
    from crnn.synth.config import SynthConfig
    from crnn.synth.dataset import build_dataset

    config = replace(load_config(SynthConfig, ROOT / "configs" / "synth.yaml"), name="t", num_lines=48,
                     shard_size=24, validation_fraction=0.25, sample_pngs=0)
    out = tmp_path_factory.mktemp("synth") / "t"
    build_dataset(config, out, workers=1, progress=False)
    return out

