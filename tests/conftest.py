import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest

from crnn.model import ConvBlock, ModelConfig

REFERENCE_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference")


@pytest.fixture(scope="session")
def tiny_model_config() -> ModelConfig:
    """A few filters and a few LSTM units: enough to learn a handful of lines on a CPU in seconds."""
    return ModelConfig(
        height=32,
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
