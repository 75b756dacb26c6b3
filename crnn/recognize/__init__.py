"""Line recognition: architecture and frame arithmetic, checkpoints, backends, decoders.

``model`` (parameters, frame counts, batching of images), ``architectures`` (builders by
name), ``layers`` (custom Keras layers), ``checkpoint`` (the directory format),
``backends`` (what runs a model), ``decoders`` (CTC decoding by name), ``batching`` and
``recognizer`` (a checkpoint and a backend reading line crops).
"""

from crnn.recognize.checkpoint import DEFAULT_CHECKPOINT, Checkpoint, CheckpointError, read_checkpoint
from crnn.recognize.decoders import DECODERS, Decoded, Decoder, make_decoder
from crnn.recognize.model import ConvBlock, ModelConfig
from crnn.recognize.recognizer import Recognizer, load_recognizer

__all__ = [
    "DECODERS",
    "DEFAULT_CHECKPOINT",
    "Checkpoint",
    "CheckpointError",
    "ConvBlock",
    "Decoded",
    "Decoder",
    "ModelConfig",
    "Recognizer",
    "load_recognizer",
    "make_decoder",
    "read_checkpoint",
]
