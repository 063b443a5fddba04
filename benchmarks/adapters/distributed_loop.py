"""Training under ``MultiWorkerMirroredStrategy`` without ``model.fit``.

Keras 3's ``fit`` cannot train under a multi-worker collective strategy: it reduces scalar
metric values with ``strategy.reduce("MEAN", v, axis=0)``, which fails
(keras-team/keras#20585). This loop trains with public APIs only: the distributed dataset
(global batch), ``strategy.run`` of a ``tf.function`` step with ``GradientTape``, the compiled
optimizer (it all-reduces the gradients), and the same Keras callbacks ``fit`` would drive
(early stopping with its monitor, the timing callback, the divergence guard), so the adapter
records the same fields either way. The compiled ``jit_compile`` and ``steps_per_execution``
do not apply here (one step per ``tf.function`` call, not XLA-compiled), nor does ``--verbose``.

Semantics, as in ``fit``: the training ``loss`` is the batch-size-weighted mean over the epoch
of each step's loss (class-weighted mean over the global batch, plus the regularisation
losses); validation runs on the whole validation set after each epoch (unweighted loss plus
regularisation, accuracy and, when asked, AUC). Every worker holds the same weights
(synchronous training), so each evaluates validation locally; the logs are then averaged
across workers, so every worker takes the same early-stopping decision.

TensorFlow and Keras are imported inside functions: importing this module is cheap.
"""

from __future__ import annotations

from typing import Any, Callable

LossFn = Callable[[Any, Any], Any]  # (y_true, y_pred) -> per-sample loss, shape (batch,)


def _targets(y: Any, proba: Any, binary: bool) -> Any:
    """Labels as the loss takes them: float (batch, 1) for a sigmoid head, else int."""
    import tensorflow as tf

    return tf.reshape(tf.cast(y, proba.dtype), (-1, 1)) if binary else y


def _correct(y: Any, proba: Any, binary: bool) -> Any:
    """1.0 per correctly classified sample (threshold 0.5 for a sigmoid head, else arg max)."""
    import tensorflow as tf

    pred = tf.cast(proba[:, 0] > 0.5, tf.int64) if binary else tf.argmax(proba, axis=-1)
    return tf.cast(tf.equal(pred, tf.cast(y, tf.int64)), tf.float32)


def _regularisation(model: Any) -> Any:
    import tensorflow as tf

    return tf.add_n([tf.cast(v, tf.float32) for v in model.losses]) if model.losses else tf.constant(0.0)


def _train_step(model: Any, strategy: Any, loss_fn: LossFn, weights: Any, binary: bool, spec: Any):
    """A ``tf.function`` over one distributed batch: (global loss, correct, samples) summed over replicas."""
    import tensorflow as tf

    def replica_step(x, y):
        ctx = tf.distribute.get_replica_context()
        n = tf.cast(tf.shape(y)[0], tf.float32)
        global_n = tf.maximum(ctx.all_reduce("SUM", n), 1.0)
        with tf.GradientTape() as tape:
            proba = tf.cast(model(x, training=True), tf.float32)
            per_sample = loss_fn(_targets(y, proba, binary), proba)
            w = tf.gather(weights, y) if weights is not None else tf.ones_like(per_sample)
            reg = _regularisation(model) / ctx.num_replicas_in_sync  # summed back over replicas
            loss = tf.reduce_sum(per_sample * w) / global_n + reg
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, tf.reduce_sum(_correct(y, proba, binary)), n

    @tf.function(input_signature=[spec])
    def step(batch):
        out = strategy.run(replica_step, args=batch)
        return [strategy.reduce("SUM", v, axis=None) for v in out]

    return step


def _evaluate(model: Any, predict: Callable[[Any], Any], val: Any, loss_fn: LossFn, binary: bool,
              auc: bool) -> dict[str, float]:
    """Loss (+ regularisation), accuracy and optionally AUC over the whole validation pipeline."""
    import keras
    import tensorflow as tf

    total, correct, count = 0.0, 0.0, 0
    roc = keras.metrics.AUC(name="auc") if auc else None
    for x, y in val:
        proba = predict(x)
        total += float(tf.reduce_sum(loss_fn(_targets(y, proba, binary), proba)))
        correct += float(tf.reduce_sum(_correct(y, proba, binary)))
        count += int(tf.shape(y)[0])
        if roc is not None:
            roc.update_state(tf.cast(y, tf.float32), proba[:, 0])
    logs = {"val_loss": total / max(count, 1) + float(_regularisation(model)),
            "val_accuracy": correct / max(count, 1)}
    if roc is not None:
        logs["val_auc"] = float(roc.result())
    return logs


def _agreement(strategy: Any) -> Callable[[dict[str, float]], dict[str, float]]:
    """A function: ``logs`` averaged over every replica of every worker, so the same values on all."""
    import tensorflow as tf

    mean = tf.function(lambda v: strategy.reduce("MEAN", strategy.run(tf.identity, args=(v,)), axis=None))

    def agreed(logs: dict[str, float]) -> dict[str, float]:
        keys = sorted(logs)
        values = mean(tf.constant([logs[k] for k in keys], tf.float64))
        return dict(zip(keys, (float(v) for v in values.numpy())))

    return agreed


def fit_distributed(model: Any, strategy: Any, train: Any, val: Any | None, *, epochs: int,
                    loss_fn: LossFn, callbacks: list[Any], binary: bool, auc: bool,
                    class_weight: dict[int, float] | None = None) -> Any:
    """Train ``model`` (built and compiled in ``strategy``'s scope) for up to ``epochs`` epochs
    on the global-batch pipeline ``train``; ``val`` (a local pipeline, or None) after each
    epoch. ``loss_fn`` returns per-sample losses. Returns the ``keras.callbacks.History``."""
    import keras
    import tensorflow as tf

    dist = strategy.experimental_distribute_dataset(train)
    weights = None
    if class_weight:
        weights = tf.constant([class_weight.get(i, 1.0) for i in range(max(class_weight) + 1)], tf.float32)
    with strategy.scope():
        step = _train_step(model, strategy, loss_fn, weights, binary, dist.element_spec)
    agreed = _agreement(strategy)
    predict = tf.function(lambda x: tf.cast(model(x, training=False), tf.float32), reduce_retracing=True)
    history = keras.callbacks.History()
    cbs = keras.callbacks.CallbackList([*callbacks, history], model=model, epochs=epochs, verbose=0)
    model.stop_training = False
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        loss_sum, correct, count = 0.0, 0.0, 0.0
        for i, batch in enumerate(dist):
            cbs.on_train_batch_begin(i)
            loss, right, n = (float(v) for v in step(batch))
            loss_sum, correct, count = loss_sum + loss * n, correct + right, count + n
            cbs.on_train_batch_end(i, {"loss": loss})
        logs = {"loss": loss_sum / max(count, 1.0), "accuracy": correct / max(count, 1.0)}
        if val is not None:
            logs.update(agreed(_evaluate(model, predict, val, loss_fn, binary, auc)))
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end()
    return history
