"""Training on two processes (Keras distribution API on JAX, 127.0.0.1): one run directory written by process 0,
identical weights in both processes, resume; and the command line's checks of the options."""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.training import loop
from protloc.utils import runtime
from tests.helpers import REPO

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

PROCESS = """
import json, os, sys
from protloc.utils import runtime
runtime.select_backend("jax")
import numpy as np
from protloc.data import datasets
from protloc.training import loop
from tests.helpers import SMALL
processes = runtime.Processes(sys.argv[1], 2, int(sys.argv[2]))
runtime.join_processes(processes)
for epochs in (1, 2):  # the second call resumes the run from its checkpoint on disk
    config = loop.RunConfig.resolve(model="rlstm", hparams=SMALL, recipe="paper", learning_rate=1e-3, epochs=epochs,
                                batch_size=8, fold=0, dataset="tests.toy_data:SMALL")  # constant rate: resumable
    model = loop.train(sys.argv[3], config, verbose=0, processes=processes)
    found = {"weights": float(sum(np.abs(w).astype(np.float64).sum() for w in model.get_weights()))}
    if sys.argv[2] == "0":  # the process that writes the run directory
        found.update(history=loop.read_history(sys.argv[3]),
                     checkpoints=sorted(os.listdir(os.path.join(sys.argv[3], "checkpoints"))))
    print(json.dumps(found), flush=True)
"""


def train_on_two_processes(run_dir):
    """Per process, what it printed after training 1 epoch and after resuming to 2: weights (and, from process 0,
    the run's history and checkpoints)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO)}
    environment.pop("KERAS_BACKEND", None)
    started = [subprocess.Popen([sys.executable, "-c", PROCESS, f"127.0.0.1:{port}", str(index), str(run_dir)],
                                cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for index in (0, 1)]
    try:
        outputs = [process.communicate(timeout=600) for process in started]
    finally:
        for process in started:
            process.kill()
    assert [process.returncode for process in started] == [0, 0], [err[-3000:] for _, err in outputs]
    return [[json.loads(line) for line in out.splitlines() if line.startswith("{")] for out, _ in outputs]


def test_two_processes_train_one_run_with_identical_weights_and_resume(tmp_path):
    pytest.importorskip("jax")
    run = tmp_path / "run"
    (first, resumed), (first_other, resumed_other) = train_on_two_processes(run)
    assert first["weights"] == pytest.approx(first_other["weights"], rel=1e-6)
    assert len(first["history"]) == 1 and first["history"][0].get("val_accuracy") is None  # no validation while training
    assert first["checkpoints"] == ["epoch-001.keras"]
    assert json.loads((run / "preset.json").read_text())["training"]["backend"] == "jax"
    assert resumed["weights"] == pytest.approx(resumed_other["weights"], rel=1e-6)
    assert resumed["weights"] != pytest.approx(first["weights"], rel=1e-9)
    assert [row["epoch"] for row in loop.read_history(run)] == [0, 1]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch-001.keras", "epoch-002.keras"]


def test_batches_of_the_processes_partition_the_whole_batches():
    from protloc.data import pipeline
    from tests.helpers import toy_spec

    examples = list(toy_spec("toy-shards", n_per_class=10).examples("train"))
    whole = pipeline.BucketedBatches(examples, 8, shuffle_seed=3)
    parts = [pipeline.BucketedBatches(examples, 8, shuffle_seed=3, shard=(index, 2)) for index in (0, 1)]
    assert len(parts[0]) == len(parts[1]) == len(whole)
    for step in range(len(whole)):
        features, labels = whole[step]
        shards = [part[step] for part in parts]
        assert shards[0][0]["tokens"].shape == shards[1][0]["tokens"].shape == (4, features["tokens"].shape[1])
        np.testing.assert_array_equal(np.concatenate([s[0]["tokens"] for s in shards]), features["tokens"])
        np.testing.assert_array_equal(np.concatenate([s[1] for s in shards]), labels)
    with pytest.raises(ValueError, match="batch_size divisible by count"):
        pipeline.BucketedBatches(examples, 7, shuffle_seed=3, shard=(0, 2))
    with pytest.raises(ValueError, match="only training batches"):
        pipeline.BucketedBatches(examples, 8, shard=(0, 2))


def test_the_command_line_checks_the_process_options(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), "--num-processes", "2"]) == 2
    assert "needs --coordinator, --num-processes and --process-id" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "r"), "--coordinator", "127.0.0.1:1", "--num-processes", "2",
                 "--process-id", "0", "--batch-size", "7"]) == 2
    assert "must be divisible by --num-processes 2" in capsys.readouterr().err
    with pytest.raises(ValueError, match="process id in 0-1"):
        runtime.Processes("127.0.0.1:1", 2, 2)
    with pytest.raises(ValueError, match="HOST:PORT"):
        runtime.Processes("localhost", 2, 0)


MIRRORED = """
import json, sys
from protloc.utils import runtime
runtime.select_backend("tensorflow")
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from protloc.data import datasets
from protloc.training import loop
from tests.helpers import SMALL

strategy = runtime.tensorflow_strategy([device.name for device in tf.config.list_logical_devices("CPU")])
for epochs in (1, 2):
    config = loop.RunConfig.resolve(model="rlstm", hparams=SMALL, recipe="paper", learning_rate=1e-3, epochs=epochs,
                                batch_size=8, fold=0, dataset="tests.toy_data:SMALL")
    model = loop.train(sys.argv[1], config, verbose=0, strategy=strategy)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "no_strategy_on_one_device":
                  runtime.tensorflow_strategy(["/cpu:0"]) is None}))
"""


def test_tensorflow_trains_and_resumes_under_a_mirrored_strategy_over_two_devices(tmp_path):
    """Two logical CPU devices stand in for two GPUs."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    environment.pop("KERAS_BACKEND", None)
    finished = subprocess.run([sys.executable, "-c", MIRRORED, str(tmp_path / "run")], cwd=REPO, env=environment,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert json.loads(finished.stdout.splitlines()[-1]) == {"replicas": 2, "no_strategy_on_one_device": True}
    history = loop.read_history(tmp_path / "run")
    assert [row["epoch"] for row in history] == [0, 1] and all(row["val_accuracy"] is not None for row in history)
