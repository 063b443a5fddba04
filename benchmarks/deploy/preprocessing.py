"""The preprocessing a record's model saw, refitted on its training split, as data (``Prep``) that
each artifact bakes in: NumPy (the reference), Keras ops (SavedModel, LiteRT, ONNX via TensorFlow)
and ONNX nodes (scikit-learn).

Tabular/expression: [clip, log2 (Golub)], NaN -> the training fill value, the kept columns (the
loader's constant/top-k filter and the recipe's ANOVA selection, composed), standardise with the
training mean and scale. Images: stored pixels (uint8 ...) / their scale; any resizing is inside
the model already. An artifact therefore takes the raw input as the dataset stores it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from benchmarks.core.errors import OncobenchError
from datasets.base import Dataset, LoadOptions

# Standardised values are clipped to +-GUARD standard deviations (a no-op on real data). The clip
# stops the LiteRT converter from folding 1/scale into the first layer's weights: folded, the
# weight columns span the features' scales (Wisconsin: std 0.003 .. 350) and int8 weights round
# the small ones away (measured, dnn on Wisconsin, dynamic-range int8: accuracy 0.509 folded,
# 0.921 = float with the clip).
GUARD = 1e4
# Op types of the tabular preprocessing: kept float32 in full-integer LiteRT models, since one
# per-tensor int8 scale cannot hold raw columns of different units (measured, dnn on Wisconsin:
# accuracy 0.632 with them quantised, 0.921 = float kept float).
PREPROCESSING_OPS = ("EQUAL", "SELECT_V2", "GATHER", "SUB", "DIV", "LOG", "MINIMUM", "MAXIMUM", "MUL")


@dataclass
class Prep:
    """Preprocessing as constants. ``kind`` is 'tabular' or 'image'."""

    kind: str
    input_dtype: str  # the raw input's dtype (float32 for tabular; the stored pixels' for images)
    input_shape: tuple[int, ...]  # per sample
    clip: tuple[float, float] | None = None
    log2: bool = False
    fill: np.ndarray | None = None  # per raw column
    keep: np.ndarray | None = None  # raw column indices the model sees, in order
    mean: np.ndarray | None = None  # per kept column
    scale: np.ndarray | None = None  # per kept column; images: one divisor in scale[0]
    steps: tuple[str, ...] = ()

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The model's float32 input from raw ``x`` (the NumPy reference of every artifact)."""
        x = np.asarray(x)
        if self.kind == "image":
            return x.astype(np.float32) / np.float32(self.scale[0])
        x = x.astype(np.float32)
        if self.clip is not None:
            x = np.clip(x, np.float32(self.clip[0]), np.float32(self.clip[1]))
        if self.log2:
            x = np.log2(x)
        x = np.where(np.isnan(x), self.fill.astype(np.float32), x)
        z = (x[:, self.keep] - self.mean.astype(np.float32)) / self.scale.astype(np.float32)
        return np.clip(z, -GUARD, GUARD).astype(np.float32)

    def describe(self) -> dict[str, Any]:
        """JSON facts for the manifest (constants summarised, not listed)."""
        out: dict[str, Any] = {"kind": self.kind, "steps": list(self.steps),
                               "input_dtype": self.input_dtype, "input_shape": list(self.input_shape)}
        if self.kind == "tabular":
            out.update(n_features_in=int(self.input_shape[0]), n_features_used=int(len(self.keep)),
                       kept_columns=[int(i) for i in self.keep])
        else:
            out["pixel_divisor"] = float(self.scale[0])
        return out


# ---------------------------------------------------------------- raw data of the supported datasets
RawLoader = Callable[[LoadOptions], tuple[np.ndarray, np.ndarray, dict[str, Any]]]


def _wisconsin(options: LoadOptions) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    from sklearn.datasets import load_breast_cancer

    from datasets.preprocess import split_indices

    raw = load_breast_cancer()
    x, y = raw.data, raw.target.astype(np.int64)
    tr, _, te = split_indices(y, options, [str(c) for c in raw.target_names], "wisconsin")
    return x[tr], x[te], {}


def _golub(options: LoadOptions) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    from sklearn.model_selection import train_test_split

    from datasets import golub

    train_m = golub.read_matrix(golub.DATA_DIR / "data_set_ALL_AML_train.csv")
    test_m = golub.read_matrix(golub.DATA_DIR / "data_set_ALL_AML_independent.csv")
    labels = __import__("pandas").read_csv(golub.DATA_DIR / "actual.csv").set_index("patient")["cancer"]
    y_tr = labels.loc[train_m.columns].map({c: i for i, c in enumerate(golub.CLASSES)}).to_numpy()
    tr_idx, _ = train_test_split(np.arange(y_tr.size), test_size=golub.VAL_FRACTION, stratify=y_tr,
                                 random_state=options.seed)
    x_tr = train_m.T.to_numpy(float)
    return x_tr[tr_idx], test_m.T.to_numpy(float), {"clip": golub.CLIP, "log2": True}


RAW_LOADERS: dict[str, RawLoader] = {"wisconsin": _wisconsin, "golub": _golub}


def _tabular(dataset: str, options: LoadOptions, ds_view: Dataset,
             selected: np.ndarray | None) -> tuple[Prep, np.ndarray, np.ndarray]:
    from datasets.preprocess import TabularPreprocessor

    if dataset not in RAW_LOADERS:
        raise OncobenchError(f"{dataset}: cannot bake this dataset's preprocessing into an artifact "
                             f"(supported tabular/expression datasets: {', '.join(RAW_LOADERS)}; "
                             "image datasets all)")
    x_tr, x_te, extra = RAW_LOADERS[dataset](options)
    before = x_tr
    if extra.get("log2"):
        before = np.log2(np.clip(x_tr, *extra["clip"]))
    prep = TabularPreprocessor(impute=options.impute, top_k=options.top_k_genes).fit(before)
    keep, mean, scale = prep.keep_, prep.mean_, prep.scale_
    if selected is not None:
        keep, mean, scale = keep[selected], mean[selected], scale[selected]
    steps = ((f"clip to [{extra['clip'][0]:g}, {extra['clip'][1]:g}]", "log2") if extra.get("log2") else ())
    steps += (f"missing values -> training {options.impute}",
              f"keep {len(keep)} of {x_tr.shape[1]} columns (constant/top-k filter"
              + (", recipe's ANOVA-F selection)" if selected is not None else ")"),
              "standardise with the training mean and standard deviation",
              f"clip standardised values to +-{GUARD:g} (a no-op on real data; see GUARD)")
    spec = Prep("tabular", "float32", (int(x_tr.shape[1]),), clip=extra.get("clip"),
                log2=bool(extra.get("log2")),
                fill=prep.fill_.astype(np.float64), keep=np.asarray(keep, dtype=np.int64),
                mean=np.asarray(mean, np.float64), scale=np.asarray(scale, np.float64), steps=steps)
    return spec, np.asarray(x_tr, np.float64), np.asarray(x_te, np.float64)  # as stored


def prep_for(dataset: str, options: LoadOptions, ds_view: Dataset,
             selected: np.ndarray | None) -> tuple[Prep, np.ndarray, np.ndarray]:
    """(preprocessing, raw training inputs, raw test inputs) of ``dataset`` as loaded with
    ``options``; checked against the loader's own preprocessed test split (``ds_view``)."""
    if ds_view.modality == "image":
        x_tr, x_te = np.asarray(ds_view.train.x), np.asarray(ds_view.test.x)
        spec = Prep("image", str(x_te.dtype), tuple(int(d) for d in x_te.shape[1:]),
                    scale=np.array([ds_view.test.scale]),
                    steps=(f"pixels / {ds_view.test.scale:g} (to [0, 1])",
                           "resizing, if any, is a layer of the model"))
    else:
        spec, x_tr, x_te = _tabular(dataset, options, ds_view, selected)
    got, want = spec.apply(x_te), ds_view.test.floats()
    if got.shape != want.shape or not np.allclose(got, want, atol=1e-4, rtol=1e-4):
        raise OncobenchError(f"{dataset}: the refitted preprocessing does not reproduce the loader's "
                             "test split (the data or the loader changed); rerun the benchmark")
    return spec, x_tr, x_te


# ---------------------------------------------------------------- as Keras ops and as ONNX nodes
AUGMENTATION = ("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
                "RandomBrightness", "RandomCrop", "GaussianNoise")


def inference_only(model: Any) -> tuple[Any, list[str]]:
    """``model`` with its training-only augmentation layers (identity at inference, but their random
    ops stay in an exported graph, and LiteRT has no kernels for them) replaced by Identity; the
    other layers are shared, weights included. Returns (model, names of the layers replaced)."""
    import keras

    gone = [layer.name for layer in model.layers if type(layer).__name__ in AUGMENTATION]
    if not gone:
        return model, []

    def swap(layer: Any) -> Any:
        return keras.layers.Identity(name=layer.name) if layer.name in gone else layer

    return keras.models.clone_model(model, clone_function=swap), gone


def keras_deployable(spec: Prep, model: Any, num_classes: int, name: str) -> Any:
    """A Keras model: raw input -> ``spec`` -> ``model`` (inference layers only) -> (n, k) class
    probabilities."""
    import keras
    from keras import ops

    model, _ = inference_only(model)

    raw = keras.Input(shape=spec.input_shape, dtype=spec.input_dtype, name="raw")
    if spec.kind == "image":
        x = ops.divide(ops.cast(raw, "float32"), np.float32(spec.scale[0]))
    else:
        x = raw
        if spec.clip is not None:
            x = ops.log2(ops.clip(x, float(spec.clip[0]), float(spec.clip[1]))) if spec.log2 else \
                ops.clip(x, float(spec.clip[0]), float(spec.clip[1]))
        # x == x is False only for NaN (an Equal op every runtime has; IsNan is not in LiteRT)
        x = ops.where(ops.equal(x, x), x, spec.fill.astype(np.float32)[None, :])
        x = ops.take(x, spec.keep.astype(np.int32), axis=1)
        x = ops.divide(ops.subtract(x, spec.mean.astype(np.float32)), spec.scale.astype(np.float32))
        x = ops.clip(x, -GUARD, GUARD)
    # training=False is kept in the functional graph: an exported signature calls the model with
    # training=None, and batch norm then ran on batch statistics (measured, cnn on BreastMNIST:
    # the SavedModel agreed with Keras on 57% of the test predictions)
    out = model(x, training=False)
    if num_classes == 2 and out.shape[-1] == 1:
        out = ops.concatenate([ops.subtract(1.0, out), out], axis=-1)
    return keras.Model(raw, out, name=name)


def onnx_prefix(spec: Prep, graph: Any, feature_input: str) -> None:
    """Prepend ``spec`` as ONNX nodes to ``graph``: a new float64 input 'raw' replaces
    ``feature_input`` (which becomes the preprocessed features). Computed in float64 and cast to
    float32 at the end, as the loader does: float32 arithmetic moved a feature across a tree
    threshold (measured: random_forest on Wisconsin, max |delta p| 3.3e-3, one of 300 trees); so
    did rounding the raw input to float32 alone (the same 3.3e-3): the input is float64, as stored.
    Edits ``graph`` in place."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def const(name: str, value: Any) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, np.float64), name))
        return name

    x = "raw"
    if spec.clip is not None:
        nodes.append(helper.make_node("Clip", [x, const("pp_lo", spec.clip[0]), const("pp_hi", spec.clip[1])],
                                      ["pp_clip"]))
        x = "pp_clip"
        if spec.log2:
            nodes += [helper.make_node("Log", [x], ["pp_ln"]),
                      helper.make_node("Div", ["pp_ln", const("pp_ln2", np.log(2))], ["pp_log2"])]
            x = "pp_log2"
    keep = numpy_helper.from_array(spec.keep.astype(np.int64), "pp_keep")
    inits.append(keep)
    nodes += [helper.make_node("IsNaN", [x], ["pp_nan"]),
              helper.make_node("Where", ["pp_nan", const("pp_fill", spec.fill), x], ["pp_filled"]),
              helper.make_node("Gather", ["pp_filled", "pp_keep"], ["pp_kept"], axis=1),
              helper.make_node("Sub", ["pp_kept", const("pp_mean", spec.mean)], ["pp_c"]),
              helper.make_node("Div", ["pp_c", const("pp_scale", spec.scale)], ["pp_z"]),
              helper.make_node("Clip", ["pp_z", const("pp_glo", -GUARD), const("pp_ghi", GUARD)], ["pp_z64"]),
              helper.make_node("Cast", ["pp_z64"], [feature_input], to=TensorProto.FLOAT)]
    old = [i for i in graph.input if i.name == feature_input]
    for i in old:
        graph.input.remove(i)
    raw = helper.make_tensor_value_info("raw", TensorProto.DOUBLE, [None, spec.input_shape[0]])
    graph.input.insert(0, raw)
    for n in reversed(nodes):
        graph.node.insert(0, n)
    graph.initializer.extend(inits)


def onnx_nan_fill(spec: Prep, graph: Any) -> None:
    """Replace NaN in the raw input of a Keras-exported ONNX graph by the training fill value, as
    the first nodes (IsNaN, Where), before anything reads the input. The Keras graph fills NaN
    after clip/log2 with a select on ``x == x``, but the converter lowers that select to
    ``cond * x + (1 - cond) * fill``, where a NaN survives (NaN * 0 is NaN): measured, a NaN input
    gave NaN scores. The fill is given in raw units (``2 ** fill`` after log2), so the rest of the
    graph maps it back to the fill value. Edits ``graph`` in place; image preps are left alone."""
    from onnx import helper, numpy_helper

    if spec.kind == "image" or spec.fill is None:
        return
    fill = np.asarray(spec.fill, dtype=np.float64)
    if spec.clip is not None and spec.log2:
        fill = np.exp2(fill)
    raw = graph.input[0].name
    graph.initializer.append(numpy_helper.from_array(fill.astype(np.float32)[None, :], "pp_raw_fill"))
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == raw:
                node.input[i] = "pp_raw_filled"
    graph.node.insert(0, helper.make_node("Where", ["pp_raw_nan", "pp_raw_fill", raw], ["pp_raw_filled"]))
    graph.node.insert(0, helper.make_node("IsNaN", [raw], ["pp_raw_nan"]))


def with_options(options: LoadOptions, seed: int, fold: int | None) -> LoadOptions:
    """``options`` for one record's seed and fold."""
    return replace(options, seed=seed, fold=fold)
