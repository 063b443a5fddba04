"""From benchmark to deployment: export a record's trained model as deployable artifacts with its
preprocessing baked in, and measure what each format costs and loses (``export model``, ``deploy``).

Modules: ``source`` (a record's restored model, raw inputs, refitted preprocessing), ``preprocessing``
(the preprocessing as NumPy / Keras ops / ONNX nodes), ``artifacts`` (writers, atomic folder),
``manifest`` (model cards), ``probe`` (runs one artifact in a fresh process importing only its
runtime), ``measure`` (the deployment benchmark, record fields, table).

Artifact layout (one folder per record; what a server, e.g. issue 31, reads)::

    OUT/<model>-<dataset>-s<seed>[-f<fold>]/
        manifest.json                index: record, class_names, input, artifacts{format: file, runtime,
                                     sha256, size_bytes}
        model.savedmodel/            TF SavedModel, signature 'serving_default' (Keras)
        model_float32.tflite         LiteRT float32 (Keras)
        model_dynamic_int8.tflite    LiteRT dynamic-range int8 weights (Keras)
        model_int8.tflite            LiteRT full-integer int8, calibrated on training samples (Keras)
        model.onnx                   ONNX (Keras via tf2onnx; scikit-learn via skl2onnx)
        <artifact>.json, <artifact>.md   manifest / model card beside each artifact
        test_inputs.npy              the record's raw test inputs (as the dataset stores them)
        deployment.json              written by ``deploy``: the measurements per format

Every artifact takes ONE input, ``raw``: the dataset's raw values ((n, features) for
tabular/expression data, NaN allowed: float32 for Keras artifacts, float64 for scikit-learn ONNX,
as ``<artifact>.json`` ``input.dtype`` says; stored pixels, e.g. uint8 (n, H, W, C), for images) and
returns float32 (n, classes) probabilities in ``class_names`` order (predicted class: argmax).
The per-artifact manifest (``manifest_version`` 1) holds: ``record`` (key, run_id, model, dataset,
seed, fold, profile, hparams, best_epoch, checkpoint, fingerprint), ``restored``, ``input``,
``output``, ``class_names``, ``preprocessing`` (kind, steps, input dtype/shape, kept columns or
pixel divisor), ``metrics`` (the record's accuracy, f1_macro, roc_auc with 95% bootstrap CIs,
n_test), ``data`` (provenance: source, licence, citation, sha256 of files, split sizes),
``intended_use``, ``not_for``, ``limits``, and ``artifact`` (format, file, runtime, sha256,
size_bytes, converter, quantisation facts, export_s).

Runtimes: SavedModel -> ``tensorflow``; .tflite -> ``ai_edge_litert.interpreter.Interpreter``;
.onnx -> ``onnxruntime.InferenceSession``. ``probe.py`` is a self-contained example of each.
"""

from __future__ import annotations

MANIFEST_VERSION = 1
KERAS_FORMATS = ("savedmodel", "tflite_float32", "tflite_dynamic_int8", "tflite_int8", "onnx")
SKLEARN_FORMATS = ("onnx",)
FORMATS = KERAS_FORMATS
FILES = {"savedmodel": "model.savedmodel", "tflite_float32": "model_float32.tflite",
         "tflite_dynamic_int8": "model_dynamic_int8.tflite", "tflite_int8": "model_int8.tflite",
         "onnx": "model.onnx"}
RUNTIMES = {"savedmodel": "tensorflow", "tflite_float32": "ai-edge-litert",
            "tflite_dynamic_int8": "ai-edge-litert", "tflite_int8": "ai-edge-litert", "onnx": "onnxruntime"}
FLOAT_FORMATS = ("savedmodel", "tflite_float32", "onnx")  # expected to equal the model within 1e-4


def artifact_file(fmt: str) -> str:
    """The file (or folder) name of format ``fmt`` in a record's artifact folder."""
    return FILES[fmt]
