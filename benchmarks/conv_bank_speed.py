"""The conv bank on residue weights against the conv bank on residue features: seconds per step, one process.

Usage:
    python benchmarks/conv_bank_speed.py [--lengths 128 456 1000] [--rounds 5]

For token-only models the zoo builds ``ConvBank(residue_blocks=...)``, which convolves each residue's 20
standard-residue weights instead of its 60 features (the same function and weights; see
:class:`protloc.models.layers.ConvBank`). For each length, two small models, ResidueEncoding -> ConvBank (the paper's
widths and filters) -> each filter's maximum -> 11 classes, one per form with the same weights, take a training
step and a forward pass on one batch of 32 random proteins in turn (protloc's thread layout, after warm-up); the
median of ``--rounds`` rounds is reported, and the whole R-LSTM's training step in the same process for scale. Writes
benchmarks/results/conv-bank-speed.{json,md}.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import keras
import numpy as np

from common import command, machine, write_results
from protloc.data import encoding
from protloc.models import zoo
from protloc.models.layers import ConvBank, MaskedGlobalMaxPooling1D, ResidueEncoding
from protloc.training import loop
from protloc.utils import runtime

FORMS = ("features", "residue weights")
"""The conv bank's input: the 60 features per residue (``residue_blocks`` None), or the 20 residue weights."""
STEPS = 5
"""Steps timed together in one round."""


def conv_bank_model(residue_blocks) -> keras.Model:
    """Tokens ``(batch, length)`` -> residue features -> conv bank -> each filter's maximum -> 11 class
    probabilities."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    features = ResidueEncoding()(tokens)
    bank = ConvBank(kernel_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=0),
                    residue_blocks=residue_blocks)(features)
    pooled = MaskedGlobalMaxPooling1D()(bank)
    return keras.Model({"tokens": tokens}, keras.layers.Dense(11, activation="softmax")(pooled))


def timings(lengths, rounds: int, batch_size: int = 32) -> dict:
    """{length: {form or "rlstm": {"train": seconds per training step, "predict": seconds per forward pass}}}, all
    models timed in turn within each round."""
    runtime.run_branches_in_parallel()
    built = {form: conv_bank_model(blocks) for form, blocks in zip(FORMS, (None, encoding.FEATURE_BLOCKS))}
    built[FORMS[1]].set_weights(built[FORMS[0]].get_weights())
    built["rlstm"] = zoo.build_model("rlstm", [str(c) for c in range(11)])
    for model in built.values():
        loop.compile_model(model, 1e-3)
    rng = np.random.default_rng(0)
    batches = {length: ({"tokens": rng.integers(1, 25, size=(batch_size, length)).astype("int32")},
                        rng.integers(0, 11, size=(batch_size,)).astype("int32")) for length in lengths}
    for tokens, _ in batches.values():  # the same function, checked before training steps move the weights apart
        outputs = [np.asarray(built[form].predict_on_batch(tokens)) for form in FORMS]
        np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-5)
    found = {}
    for length, (tokens, labels) in batches.items():
        seconds = {name: {"train": [], "predict": []} for name in built}
        for round_number in range(rounds + 1):  # round 0 warms up (tracing)
            for name, model in built.items():
                for kind, step in (("train", lambda: model.train_on_batch(tokens, labels)),
                                   ("predict", lambda: model.predict_on_batch(tokens))):
                    start = time.perf_counter()
                    for _ in range(STEPS):
                        step()
                    if round_number:
                        seconds[name][kind].append((time.perf_counter() - start) / STEPS)
        found[str(length)] = {name: {kind: statistics.median(values) for kind, values in kinds.items()}
                              for name, kinds in seconds.items()}
    return found


def markdown(results: dict) -> str:
    lines = ["# Conv bank on residue weights", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}", "",
             "Seconds per step, batch 32 of random proteins of one length (median of the rounds; the models in turn "
             "within each round). Conv bank: the paper's widths and filters between ResidueEncoding and each filter's "
             "maximum; R-LSTM: the whole paper model, whose conv bank now takes the residue weights.", "",
             "| length | step | conv bank on features | on residue weights | features / weights | whole R-LSTM |",
             "|---:|---|---:|---:|---:|---:|"]
    for length, found in results["timings"].items():
        for kind in ("train", "predict"):
            plain, factored = found[FORMS[0]][kind], found[FORMS[1]][kind]
            lines.append(f"| {length} | {'training' if kind == 'train' else 'forward'} | {plain:.4f} | "
                         f"{factored:.4f} | {plain / factored:.2f} | {found['rlstm'][kind]:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 456, 1000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    results = {"command": command(), "machine": machine(), "rounds": args.rounds,
               "timings": timings(args.lengths, args.rounds)}
    write_results("conv-bank-speed", results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
