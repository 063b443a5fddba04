"""The valid values of the run settings that the command line offers as choices, written once."""

from __future__ import annotations

OPTIMIZERS = ("adam", "rmsprop")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("none", "mirrored", "multiworker")  # Keras multi-device training
EXECUTORS = ("local", "inprocess", "ray")  # benchmarks.execution.executor_for
JIT_COMPILE = (True, False, "auto")  # RunConfig.jit_compile; the flag says on / off / auto
