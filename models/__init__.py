"""oncobench model builders: ``build(input_shape, num_classes, **hparams) -> keras.Model``."""

ONCOBENCH = True  # marker: the CLI checks it to detect a shadowing 'models' package

from models.registry import ModelSpec, get_model, list_models, register_model  # noqa: E402

__all__ = ["ModelSpec", "get_model", "list_models", "register_model"]
