"""TensorFlow's CPU thread layout for recurrent models: independent branches side by side, one core each."""
from __future__ import annotations

import os

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def run_branches_in_parallel(cores: int | None = None) -> bool:
    """Gives every independent op its own core instead of splitting each small matrix product over all cores.

    An LSTM step is a matrix product too small to split well across cores, but an R-LSTM has two LSTMs that do
    not depend on each other (as do the two directions of a bidirectional LSTM, the members of an ensemble and
    the batches ``protloc predict`` keeps in flight). With one thread per op and ``cores`` ops at a time, they
    run concurrently; benchmarks/speed.py measures the effect on training and on ``protloc predict``.

    Must be called before TensorFlow runs its first op. Does nothing on a Keras backend other than TensorFlow,
    when the user has set ``TF_NUM_INTRAOP_THREADS`` or ``TF_NUM_INTEROP_THREADS``, or when TensorFlow is
    already running.

    Args:
        cores: concurrent ops (default: the CPUs this process may use).

    Returns:
        whether the layout was applied.
    """
    import keras

    if keras.backend.backend() != "tensorflow" or any(name in os.environ for name in THREAD_VARIABLES):
        return False
    import tensorflow as tf

    cores = cores or usable_cores()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(cores)
    except RuntimeError:  # TensorFlow already initialised its thread pools
        return False
    return True


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
