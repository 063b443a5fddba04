"""Every registered model, looped over the registry: builds for each modality it claims,
gives outputs of the right shape for 2 and 3 classes, trains one step, and declares its
defaults once (in the builder's signature). Registration refuses bad builder signatures."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from benchmarks.adapters import adapter_for
from benchmarks.core.errors import OncobenchError
from benchmarks.core.modalities import EXPRESSION, IMAGE, TABULAR
from models import get_model, list_models
from models.registry import RESERVED, register_model

# Small input shapes per modality: fast to build and train.
SHAPES: dict[str, list[tuple[int, ...]]] = {
    EXPRESSION: [(50,)],
    TABULAR: [(12,)],
    IMAGE: [(28, 28, 1), (28, 28, 3)],
}
# Overrides that keep a model small in these tests (the hub backbone at a small image size).
SMALL = {"mobilenet_v2_hub": {"image_size": 32}}
# Slow to trace: each shape once, the class counts alternating (both still covered).
HEAVY = {"mobilenet_v2_hub"}
N = 12


def _cases() -> list:
    out = []
    for spec in list_models():
        shapes = [s for m in spec.modalities for s in SHAPES[m]]
        if spec.name in HEAVY:
            pairs = [(s, 2 + i % 2) for i, s in enumerate(shapes)]
        else:
            pairs = [(s, k) for s in shapes for k in (2, 3)]
        out += [pytest.param(spec.name, s, k, id=f"{spec.name}-{'x'.join(map(str, s))}-{k}cls")
                for s, k in pairs]
    return out


CASES = _cases()


def _batch(shape: tuple[int, ...], k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((N, *shape)).astype("float32")
    y = np.arange(N) % k
    return x, y


@pytest.mark.parametrize("name,shape,k", CASES)
def test_every_model_builds_predicts_and_trains(name, shape, k):
    spec = get_model(name)
    hp = spec.hparams(SMALL.get(name))
    model = spec.create(shape, k, hp, seed=0)
    x, y = _batch(shape, k)
    if spec.framework == "sklearn":
        model.fit(x.reshape(N, -1), y)
        assert model.predict_proba(x.reshape(N, -1)).shape == (N, k)
        return
    import keras

    out = model.predict_on_batch(x)
    assert out.shape == ((N, 1) if k == 2 else (N, k))
    model.compile(keras.optimizers.Adam(1e-3),
                  "binary_crossentropy" if k == 2 else "sparse_categorical_crossentropy")
    loss = model.train_on_batch(x, y)
    assert np.isfinite(np.asarray(loss, dtype=float)).all()


@pytest.mark.parametrize("spec", list_models(), ids=lambda s: s.name)
def test_defaults_equal_builder_signature(spec):
    params = inspect.signature(spec.build).parameters.values()
    expected = {p.name: p.default for p in params
                if p.kind is p.KEYWORD_ONLY and p.name not in RESERVED}
    assert spec.defaults == expected
    assert spec.hparams() == expected
    assert spec.takes_seed == ("seed" in inspect.signature(spec.build).parameters)


@pytest.mark.parametrize("spec", list_models(), ids=lambda s: s.name)
def test_every_framework_has_an_adapter(spec):
    assert callable(adapter_for(spec).run)


def test_sklearn_seed_is_reserved_not_a_hyper_parameter():
    spec = get_model("random_forest")
    assert spec.takes_seed and "seed" not in spec.defaults
    with pytest.raises(OncobenchError, match="no hyper-parameter seed"):
        spec.hparams({"seed": 1})
    assert spec.create((4,), 2, spec.hparams(), seed=7).random_state == 7


def test_bad_builder_signatures_are_refused():
    with pytest.raises(ValueError, match=r"must take \(input_shape, num_classes.*it takes \(shape\)"):
        register_model("bad_positional", modalities=(IMAGE,))(lambda shape: None)

    def no_default(input_shape, num_classes, *, width):
        return None

    with pytest.raises(ValueError, match="hyper-parameter 'width' needs a default"):
        register_model("bad_default", modalities=(IMAGE,))(no_default)

    def var_kwargs(input_shape, num_classes, **hparams):
        return None

    with pytest.raises(ValueError, match=r"\*\*hparams is not allowed"):
        register_model("bad_kwargs", modalities=(IMAGE,))(var_kwargs)
    assert not {"bad_positional", "bad_default", "bad_kwargs"} & {m.name for m in list_models()}


def test_profile_hparams_must_name_known_profiles_and_hyper_parameters():
    def build(input_shape, num_classes, *, width=8):
        return None

    with pytest.raises(ValueError, match=r"profile_hparams for unknown profiles \['fast'\]; valid: quick"):
        register_model("bad_profile", modalities=(IMAGE,), profile_hparams={"fast": {"width": 4}})(build)
    with pytest.raises(ValueError, match=r"profile_hparams\['full'\] names unknown hyper-parameters "
                                         r"\['depth'\]"):
        register_model("bad_profile_hp", modalities=(IMAGE,), profile_hparams={"full": {"depth": 4}})(build)
    assert not {"bad_profile", "bad_profile_hp"} & {m.name for m in list_models()}


def test_unknown_framework_names_the_valid_ones():
    from dataclasses import replace

    spec = replace(get_model("logreg"), framework="jax")
    with pytest.raises(OncobenchError, match="no adapter for framework 'jax'; valid: keras, sklearn"):
        adapter_for(spec)
