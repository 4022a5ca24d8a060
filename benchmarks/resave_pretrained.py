"""Re-saves the shipped models with the zoo's dict inputs (``{"tokens": ...}``), weights unchanged.

    python benchmarks/resave_pretrained.py

protloc 0.1 saved its models with one token-tensor input; models now take a dict of named per-residue inputs.
Each shipped model is rebuilt by the registry from its card's family and hyper-parameters (an ensemble member by
member), given the saved weights, and checked before it replaces the file: on examples/proteins.fasta and on
MultiLoc's test split (from $PROTLOC_DATA_DIR) its probabilities must equal the old file's within 1e-6 and its
test accuracy must be the card's. Writes benchmarks/results/resave-pretrained.{json,md}.
"""
from __future__ import annotations

import pathlib
import sys

import keras
import numpy as np

from common import command, machine, write_results
from protloc import datasets, evaluation, files, models, pretrained, sequences
from protloc.layers import AttentionPooling, ReversedLSTMPair

TOLERANCE = 1e-6


def family_of(member: keras.Model) -> str:
    """The zoo family of a single saved model, from its representation layer."""
    layer = member.get_layer(models.REPRESENTATION_LAYER)
    return {ReversedLSTMPair: "rlstm", AttentionPooling: "alstm"}[type(layer)]


def rebuilt(old: keras.Model, hparams: dict) -> keras.Model:
    """``old`` (a single model or an ensemble of single models) rebuilt with dict inputs and its weights."""
    members = [layer for layer in old.layers if isinstance(layer, keras.Model)] or [old]
    copies = []
    for member in members:
        copy = models.build_model(family_of(member), models.class_names_of(member), **hparams)
        copy.set_weights(member.get_weights())
        copies.append(copy)
    if len(copies) == 1:
        return copies[0]
    return models.build_ensemble(copies, name=old.name)


def main() -> int:
    spec = datasets.get("multiloc")
    test = spec.examples("test")
    examples = [datasets.Example(r.id, {models.TOKENS: sequences.encode_sequence(r.sequence, record_id=r.id)}, 0, 0)
                for r in sequences.read_fasta(pretrained.EXAMPLES)]
    results = {"command": command(), "machine": machine(), "tolerance": TOLERANCE, "models": {}}
    for name in sorted(pretrained.SHIPPED):
        card, path = pretrained.model_card(name), pretrained.model_path(name)
        old = keras.saving.load_model(path, safe_mode=True, compile=False)
        hparams = {k: v for k, v in card["hparams"].items() if k in models.HYPERPARAMETERS}
        new = rebuilt(old, hparams)
        entry = {}
        for label, proteins in (("examples", examples), ("test", test)):
            before = _token_probabilities(old, proteins)
            after = evaluation.predict_probabilities(new, proteins)
            entry[f"{label}_max_difference"] = float(np.abs(after - before).max())
        accuracy = float(np.mean(np.argmax(after, -1) == datasets.labels_of(test)))
        entry.update(test_accuracy=accuracy, card_test_accuracy=card["test_accuracy"],
                     inputs=models.input_names(new))
        if max(entry["examples_max_difference"], entry["test_max_difference"]) > TOLERANCE or \
                round(accuracy, 6) != round(card["test_accuracy"], 6):
            raise SystemExit(f"{name}: the rebuilt model differs from the shipped one: {entry}")
        files.save_model(new, path)
        results["models"][name] = entry
        print(name, entry)
    write_results("resave-pretrained", results, markdown(results))
    return 0


def _token_probabilities(model: keras.Model, proteins) -> np.ndarray:
    """Probabilities of a protloc 0.1 model (one token-tensor input), one protein at a time, in order."""
    return np.concatenate([model.predict_on_batch(p.features[models.TOKENS][None]) for p in proteins])


def markdown(results: dict) -> str:
    lines = ["# Shipped models re-saved with dict inputs", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}", "",
             "| model | inputs | max difference, examples/proteins.fasta | max difference, MultiLoc test split | "
             "test accuracy | card's |", "|---|---|---:|---:|---:|---:|"]
    for name, entry in results["models"].items():
        lines.append(f"| {name} | {', '.join(entry['inputs'])} | {entry['examples_max_difference']:.1e} | "
                     f"{entry['test_max_difference']:.1e} | {entry['test_accuracy']:.4f} | "
                     f"{entry['card_test_accuracy']:.4f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
