"""FLOPs per sample of a Keras model, counted by TensorFlow's graph profiler.

Works for any model that traces (dense, conv, and TF-Hub backbones alike): the forward
pass for one sample is traced, and the profiler's ``float_ops`` (multiply and add
counted separately, so a multiply-accumulate is 2 FLOPs) are summed.
"""

from __future__ import annotations

from typing import Any


def flops_per_sample(model: Any) -> int | None:
    """Forward-pass FLOPs for one sample, or None when the graph cannot be profiled."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    try:
        shape = [1, *model.input_shape[1:]]
        fn = tf.function(lambda x: model(x, training=False))
        concrete = fn.get_concrete_function(tf.TensorSpec(shape, tf.float32))
        frozen = convert_variables_to_constants_v2(concrete)
        opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        opts["output"] = "none"
        prof = tf.compat.v1.profiler.profile(graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(),
                                             cmd="op", options=opts)
        return int(prof.total_float_ops) if prof is not None else None
    except Exception:  # noqa: BLE001 - FLOPs are informative, never fatal
        return None
