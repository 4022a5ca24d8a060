"""The CPU thread layout is applied in a fresh process, and left alone where the user or TensorFlow decided."""
import importlib
import os
import subprocess
import sys

import pytest

from protloc.utils import runtime

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

PROBE = ("from protloc.utils import runtime; applied = runtime.run_branches_in_parallel(3); import tensorflow as tf; "
         "print(applied, tf.config.threading.get_intra_op_parallelism_threads(), "
         "tf.config.threading.get_inter_op_parallelism_threads())")


def probe(**variables):
    env = {k: v for k, v in os.environ.items() if k not in runtime.THREAD_VARIABLES}
    result = subprocess.run([sys.executable, "-c", PROBE], env={**env, **variables}, capture_output=True, text=True,
                            check=True)
    return result.stdout.split()


def test_fresh_process_runs_one_thread_per_op_and_one_op_per_core():
    assert probe() == ["True", "1", "3"]


def test_user_thread_variables_win():
    assert probe(TF_NUM_INTEROP_THREADS="1")[0] == "False"


def test_running_tensorflow_is_left_alone():
    code = ("import tensorflow as tf; tf.constant(1.0) + 1.0; "  # TensorFlow's thread pools now exist
            "from protloc.utils import runtime; print(runtime.run_branches_in_parallel(3))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False"]


def test_usable_cores_follow_the_affinity_mask():
    code = "import os; from protloc.utils import runtime; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); " \
           "print(runtime.usable_cores())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["1"]
    assert runtime.usable_cores() == len(os.sched_getaffinity(0))


def test_libraries_hidden_while_keras_starts_cannot_be_imported_within_and_can_after(monkeypatch):
    monkeypatch.setattr(runtime, "KERAS_INTEGRATIONS", ("tabnanny",))  # a module nothing here imports
    monkeypatch.delitem(sys.modules, "tabnanny", raising=False)
    with runtime.keras_integrations_hidden():
        with pytest.raises(ModuleNotFoundError, match="hidden while Keras starts"):
            importlib.import_module("tabnanny")
        try:  # the way Keras imports an optional integration
            import tabnanny  # noqa: F401
            found = True
        except ImportError:
            found = False
    assert not found and importlib.import_module("tabnanny").__name__ == "tabnanny"
