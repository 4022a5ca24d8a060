"""Where and how computations run: the Keras backend, the cache directory, and TensorFlow's CPU thread layout for
recurrent models (independent branches side by side, one core each)."""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.abc
import os
import pathlib
import platform
import sys

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
CACHE_VARIABLE = "PROTLOC_CACHE_DIR"
BACKENDS = ("tensorflow", "jax", "numpy")
"""Keras backends protloc runs on; ``numpy`` predicts only (no training), and starts in about half the time."""
SMALL_INPUT_BYTES = 16_000
"""FASTA inputs below this size (about 50 proteins) are predicted on the numpy backend unless a backend is chosen:
its start-up saves more than its slower network costs (benchmarks/predict_speed.py measures both)."""


KERAS_INTEGRATIONS = ("sklearn", "matplotlib", "pandas")
"""Libraries Keras imports at its own import, where installed, only to offer integrations that prediction never
uses (scikit-learn estimator wrappers, image-gallery plots, DataFrame inputs): about 2 s of start-up on 2 cores."""


class _Hidden(importlib.abc.MetaPathFinder):
    """An import finder under which the top-level packages ``names`` are not installed."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{name} is hidden while Keras starts", name=name)
        return None


@contextlib.contextmanager
def keras_integrations_hidden():
    """Within it, :data:`KERAS_INTEGRATIONS` cannot be imported, so that Keras (and TensorFlow, which imports Keras)
    started within it start without them; they stay importable afterwards (by protloc's plots, for example), but
    Keras's own wrappers around them are then unavailable in the process. For a ``protloc predict`` process, whose
    start-up is most of its time on a small input."""
    hidden = _Hidden(name for name in KERAS_INTEGRATIONS if name not in sys.modules)
    sys.meta_path.insert(0, hidden)
    try:
        yield
    finally:
        sys.meta_path.remove(hidden)


def cache_directory() -> pathlib.Path:
    """protloc's cache (MMseqs2 databases, JAX compilations): ``$PROTLOC_CACHE_DIR`` or ``~/.cache/protloc``."""
    return pathlib.Path(os.environ.get(CACHE_VARIABLE) or pathlib.Path.home() / ".cache" / "protloc")


def select_backend(name: str | None = None, default: str = "tensorflow") -> str:
    """Makes ``name`` Keras's backend (``KERAS_BACKEND``; None keeps the environment's, else ``default``, or the
    backend of a Keras imported already); on
    JAX, compiled steps are kept in ``cache_directory()/jax`` (unless ``JAX_COMPILATION_CACHE_DIR`` says
    otherwise), so a bucket's training step compiles once per machine, not once per run. Must be called before
    Keras is imported.

    Returns:
        the backend in use.

    Raises:
        ValueError: unknown backend, or Keras already runs on another one.
    """
    if "keras" in sys.modules:  # imported already: its backend is the default
        default = sys.modules["keras"].backend.backend()
    backend = name or os.environ.get("KERAS_BACKEND") or default
    if backend not in BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != backend:
        raise ValueError(f"Keras already runs on {sys.modules['keras'].backend.backend()}: choose the backend "
                         f"before Keras is imported")
    os.environ["KERAS_BACKEND"] = backend
    if backend == "jax":
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(cache_directory() / "jax"))
    return backend


def quiet_tensorflow() -> None:
    """Keeps TensorFlow's C++ start-up and runtime logs (CUDA probing, CPU features, oneDNN notices) off stderr.

    Sets ``TF_CPP_MIN_LOG_LEVEL`` to 3 unless the user set it, and on the TensorFlow backend imports TensorFlow
    and lists its devices with the process's stderr pointed at /dev/null, since some of those lines are printed
    before that setting is read or regardless of it. In a process whose ``sys.stderr`` is still its own (a command
    line run, not one whose stderr a caller has replaced), it then keeps file descriptor 2, where C++ code writes,
    on /dev/null for good and gives Python's ``sys.stderr`` a copy of the real one: lines that TensorFlow's kernels
    log while running (e.g. oneDNN's notes on the first use of an op) never reach the user, every message of
    protloc's still does. Python exceptions raised there still surface. Must be called before TensorFlow is
    imported to have any effect.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # probes for GPUs now, while its failure lines go nowhere
    except BaseException:
        os.dup2(saved, 2)
        os.close(saved)
        raise
    if sys.stderr is not sys.__stderr__:  # someone else's stream (a test's capture): give fd 2 back
        os.dup2(saved, 2)
        os.close(saved)
        return
    encoding, errors = sys.stderr.encoding, sys.stderr.errors
    sys.stderr = sys.__stderr__ = open(saved, "w", buffering=1, encoding=encoding, errors=errors, closefd=True)


@dataclasses.dataclass(frozen=True)
class Processes:
    """This process's place in a multi-process (or multi-host) data-parallel training.

    Attributes:
        coordinator: ``HOST:PORT`` of process 0, which every process reaches.
        count: processes in the training.
        index: this process's number, 0 .. count - 1; process 0 writes the run directory.
    """

    coordinator: str
    count: int
    index: int

    def __post_init__(self):
        if self.count < 2 or not 0 <= self.index < self.count:
            raise ValueError(f"a multi-process training needs at least 2 processes and a process id in 0-"
                             f"{self.count - 1}; got {self.count} processes, id {self.index}")
        host, _, port = self.coordinator.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--coordinator must be HOST:PORT, got {self.coordinator!r}")

    @property
    def writes(self) -> bool:
        """Whether this process writes the run directory (process 0 only)."""
        return self.index == 0


def join_processes(processes: Processes) -> None:
    """Joins the data-parallel training ``processes`` describe, with Keras's distribution API on JAX: every
    process's devices form one mesh, each process feeds its own part of every batch, gradients are averaged
    across all, so the weights stay identical everywhere. On CPUs the processes exchange tensors through gloo.
    Blocks until all processes have joined. Must run before JAX computes anything.

    Raises:
        ValueError: Keras does not run on JAX.
    """
    import keras

    if keras.backend.backend() != "jax":
        raise ValueError(f"multi-process training runs on Keras's JAX backend (--backend jax); this process runs "
                         f"on {keras.backend.backend()}")
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize(job_addresses=processes.coordinator, num_processes=processes.count,
                                  process_id=processes.index)
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices(),
                                                                         auto_shard_dataset=False))


def tensorflow_strategy(devices: list[str] | None = None):
    """``tf.distribute.MirroredStrategy`` over ``devices`` (default: every local GPU) when there are several, else
    None: on one device, or on the CPUs of one machine, a strategy adds only overhead. TensorFlow backend only.

    Args:
        devices: TensorFlow device names, e.g. ``["/gpu:0", "/gpu:1"]``.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    devices = devices if devices is not None else [device.name for device in tf.config.list_logical_devices("GPU")]
    return tf.distribute.MirroredStrategy(devices) if len(devices) > 1 else None


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


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (``/proc/cpuinfo``), else the platform's processor field."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.system()


def describe_machine() -> str:
    """The machine in words, for results files: the CPUs (count, architecture, model), and the Keras backend with
    its accelerator where it is not TensorFlow on the CPU. Imports Keras."""
    import keras

    cpus = f"{os.cpu_count()} CPU cores, {platform.machine()}, {cpu_model()}"
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        devices = [device.device_kind for device in jax.devices() if device.platform != "cpu"]
        return f"{cpus}; Keras on JAX" + (f", {devices[0]}" if devices else "")
    return cpus if backend == "tensorflow" else f"{cpus}; Keras on {backend}"
