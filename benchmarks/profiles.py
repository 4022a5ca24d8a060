"""Sequence profiles on MultiLoc: what the database gives, what profiles cost, and 60 against 80 features.

Usage:
    python benchmarks/profiles.py --profile-db ../shared/data/proteomes ../shared/data/multiloc \
        [--sequence-run runs/profiles/rlstm-60 --profile-run runs/profiles/rlstm-80]

1. Cost: profiles through :class:`protloc.evidence.profiles.ProfileSearch` with its defaults (3 iterations, -s 4,
   E < 1e-3): seconds per 1,000 proteins to compute them (--cost-sample MultiLoc proteins, seed 0, into an empty
   cache; the database built beforehand) and to read them back from the cache; and, over every MultiLoc protein
   (both splits), how many have a relative in the database besides themselves.
2. With both runs (`protloc train` with the same recipe, seed and split; the second with --profile-db, i.e. the
   80-feature model): test accuracy with 95% intervals and an exact McNemar test of 80 against 60 features; and
   each fused with homology (MultiLoc's training split as reference, and one fusion rule for both: that of
   --fusion-preset, fitted on training data only for a network of the same configuration). The test split is used
   for nothing else.
Writes benchmarks/results/NAME.{json,md} (--results; default profiles).
"""
from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

import numpy as np

from common import cached_predictions, command, machine, test_report, write_results
from protloc.data import datasets
from protloc.evidence import fusion, homology, profiles
from protloc.prediction import preset
from protloc.training import evaluation, loop

SPEC = datasets.get("multiloc")


def profile_cost(database: list[str], sample: int, data_dir=None) -> dict:
    """Seconds per 1,000 proteins to compute profiles (``sample`` MultiLoc proteins, seed 0, into a fresh cache) and
    to read them back; how many of all MultiLoc proteins have relatives in the database (their profiles are computed
    here unless the cache holds them)."""
    proteins = list(dict.fromkeys(e.sequence.upper() for split in datasets.SPLITS
                                  for e in SPEC.examples(split, None, data_dir)))
    chosen = [proteins[i] for i in np.random.default_rng(0).choice(len(proteins), sample, replace=False)]
    with tempfile.TemporaryDirectory(prefix="protloc-profile-cost-") as cache:
        fresh = profiles.ProfileSearch(profiles.ProfileDatabase(database), cache_dir=cache)
        fresh.database.path()  # the MMseqs2 database itself lives in the usual cache: built once, not timed
        start = time.perf_counter()
        fresh.profiles(chosen)
        computed_s = time.perf_counter() - start
        start = time.perf_counter()
        profiles.ProfileSearch(fresh.database, cache_dir=cache).profiles(chosen)
        cached_s = time.perf_counter() - start
        stored = sum(path.stat().st_size for path in pathlib.Path(cache).rglob("*.npz"))
    found = profiles.ProfileSearch(profiles.ProfileDatabase(database)).profiles(proteins)
    hits = np.array([profile.hits for profile in found])
    return {
        "proteins": len(proteins), "sample": sample, "computed_s_per_1000": 1000 * computed_s / sample,
        "cache_read_s_per_1000": 1000 * cached_s / sample, "cache_mb_per_1000": 1000 * stored / sample / 2 ** 20,
        "with_relatives": int(np.sum(hits > 1)),
        "hits_median": float(np.median(hits)),
        "settings": {"iterations": fresh.iterations, "sensitivity": fresh.sensitivity, "evalue": fresh.evalue},
    }


def run_rows(runs: dict[str, pathlib.Path], fusion_preset: str, data_dir=None) -> tuple[list[dict], dict]:
    """Test accuracy of each run alone and fused with homology (``fusion_preset``'s rule), and McNemar tests of the
    profile run against the sequence run."""
    test = SPEC.examples("test", None, data_dir)
    reference = homology.ReferenceSet.from_examples(SPEC.examples("train", None, data_dir), SPEC.class_names)
    evidence = homology.class_evidence(homology.HomologySearch(reference).search([e.sequence for e in test]),
                                       len(SPEC.class_names))
    rule = fusion.Fusion.load(preset.load(fusion_preset).file("fusion"))
    rows, right = [], {}
    for name, run in runs.items():
        labels, network = cached_predictions(run, data_dir)
        fused = rule.apply(network, evidence)[0]
        config = loop.read_config(run)
        for used, probabilities in (("network", network), ("fused with homology", fused)):
            report, correct = test_report(labels, probabilities, SPEC.class_names)
            right[(name, used)] = correct
            rows.append({"features": name, "evidence": used, "run": str(run), "recipe": config.recipe,
                         "epochs": config.epochs, "seed": config.seed, "accuracy": report["accuracy"],
                         "accuracy_95ci": report["accuracy_95ci"], "mcc": report["mcc"]})
    tests = {used: evaluation.mcnemar_exact(right[("80 (with profiles)", used)], right[("60 (sequence only)", used)])
             for used in ("network", "fused with homology")}
    return rows, tests


def markdown(results: dict) -> str:
    cost = results["cost"]
    lines = ["# Sequence profiles on MultiLoc", "", f"Command: `{results['command']}`  ", f"Machine: {results['machine']}",
             "", f"Database: {', '.join(results['profile_db'])} (MMseqs2, {cost['settings']['iterations']} "
                 f"iterations, -s {cost['settings']['sensitivity']:g}, E < {cost['settings']['evalue']:g}).", "",
             "| | value |", "|---|---:|",
             f"| MultiLoc proteins (both splits, distinct) | {cost['proteins']} |",
             f"| with a relative in the database besides themselves | {cost['with_relatives']} "
             f"({cost['with_relatives'] / cost['proteins']:.0%}) |",
             f"| median proteins in a profile | {cost['hits_median']:g} |",
             f"| seconds per 1,000 proteins, computed ({cost['sample']} proteins, empty cache) | "
             f"{cost['computed_s_per_1000']:.1f} |",
             f"| seconds per 1,000 proteins, read from the cache | {cost['cache_read_s_per_1000']:.2f} |",
             f"| cache size per 1,000 proteins (MiB) | {cost['cache_mb_per_1000']:.1f} |", ""]
    if results.get("rows"):
        lines += [f"MultiLoc test split (fused: homology against the training split, by the fusion rule of the "
                  f"{results['fusion_preset']} preset):", "", "| features | evidence | accuracy (95% CI) | MCC | recipe, epochs, seed |",
                  "|---|---|---|---:|---|"]
        for row in results["rows"]:
            low, high = row["accuracy_95ci"]
            lines.append(f"| {row['features']} | {row['evidence']} | {row['accuracy']:.3f} ({low:.3f}-{high:.3f}) | "
                         f"{row['mcc']:.3f} | {row['recipe']}, {row['epochs']}, {row['seed']} |")
        lines += ["", "Exact McNemar tests, 80 against 60 features on the same test proteins:", ""]
        for evidence, test in results["mcnemar"].items():
            lines.append(f"* {evidence}: right only with profiles {test['only_first']}, only without "
                         f"{test['only_second']}, p = {test['p_value']:.3g}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile-db", nargs="+", required=True, help="the profile database (as protloc train)")
    parser.add_argument("--sequence-run", type=pathlib.Path, help="run directory of the 60-feature R-LSTM")
    parser.add_argument("--profile-run", type=pathlib.Path, help="run directory of the 80-feature R-LSTM")
    parser.add_argument("--cost-sample", type=int, default=500, help="proteins whose profiles are timed")
    parser.add_argument("--fusion-preset", default="multiloc",
                        help="the preset whose fusion rule fuses both runs (default: multiloc)")
    parser.add_argument("--data-dir", help="directory of MultiLoc's FASTA files (default: $PROTLOC_DATA_DIR)")
    parser.add_argument("--results", default="profiles", metavar="NAME",
                        help="write benchmarks/results/NAME.{json,md} (default: profiles)")
    args = parser.parse_args(argv)
    if (args.sequence_run is None) != (args.profile_run is None):
        parser.error("give both --sequence-run and --profile-run, or neither")
    results = {"command": command(), "machine": machine(), "profile_db": args.profile_db,
               "fusion_preset": args.fusion_preset,
               "cost": profile_cost(args.profile_db, args.cost_sample, args.data_dir)}
    if args.sequence_run:
        for run, wanted in ((args.sequence_run, False), (args.profile_run, True)):
            if loop.read_config(run).hparams["profile"] != wanted:
                parser.error(f"{run} is {'not ' if wanted else ''}a profile model")
        results["rows"], results["mcnemar"] = run_rows(
            {"60 (sequence only)": args.sequence_run, "80 (with profiles)": args.profile_run}, args.fusion_preset,
            args.data_dir)
    write_results(args.results, results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
