"""CTC loss with explicit per-sample lengths, and the Keras model that trains the recognizer with it."""

from __future__ import annotations

from typing import Any


def ctc_loss(labels, label_lengths, logits, logit_lengths_):
    """Per-sample CTC loss from logits, with explicit label and logit lengths (blank = 0).

    Under the TensorFlow backend the labels go to ``tf.nn.ctc_loss`` as a sparse
    tensor, which runs TensorFlow's C++ CTC kernel: with dense labels (what
    ``keras.ops.ctc_loss`` passes) TensorFlow falls back to a much slower graph of
    scans for the same loss. Other backends use ``keras.ops.ctc_loss``.
    """
    import keras
    from keras import ops

    labels = ops.cast(labels, "int32")
    label_lengths = ops.cast(label_lengths, "int32")
    logit_lengths_ = ops.cast(logit_lengths_, "int32")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        positions = tf.range(tf.shape(labels)[1])[None, :]
        kept = tf.where(positions < label_lengths[:, None], labels, tf.zeros_like(labels))
        return tf.nn.ctc_loss(
            labels=tf.sparse.from_dense(kept),  # label ids are >= 1, so only padding is dropped
            logits=tf.cast(logits, "float32"),
            label_length=None,
            logit_length=logit_lengths_,
            blank_index=0,
            logits_time_major=False,
        )
    return ops.ctc_loss(
        target=labels, output=logits, target_length=label_lengths, output_length=logit_lengths_, mask_index=0
    )


def make_trainer(model: Any, optimizer: Any) -> Any:
    """Wrap the recognizer in a compiled ``keras.Model`` whose loss is CTC with per-sample lengths.

    ``fit`` and ``train_on_batch`` take images as x and ``(labels, label_lengths, frames)`` as y.
    Only the wrapped recognizer is ever saved.
    """
    import keras
    from keras import ops

    class CTCTrainer(keras.Model):
        def __init__(self, recognizer):
            super().__init__()
            self.recognizer = recognizer

        def call(self, images, training=False):
            return self.recognizer(images, training=training)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            labels, label_lengths, frames = y
            return ops.mean(ctc_loss(labels, label_lengths, y_pred, frames))

    trainer = CTCTrainer(model)
    # TensorFlow: XLA would compile once per batch width (and fails on TF's CTC kernel); plain graph
    # mode traces one width-agnostic step. JAX has no graph mode: without jit every step runs op by
    # op, far too slowly, so it compiles once per batch width, which width quantization bounds.
    trainer.compile(optimizer=optimizer, jit_compile=False if keras.backend.backend() == "tensorflow" else "auto")
    return trainer
