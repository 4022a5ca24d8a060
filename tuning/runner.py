"""The search itself (keras-tuner): tuners that record each trial's history, Hyperband limited to its most aggressive
brackets, fixed values, running or resuming a search and writing its results. ``python -m tuning.search`` parses its
arguments first and imports this module only then, so that ``--help`` and a bad argument answer at once.
"""
from __future__ import annotations

import collections
import csv
import json
import os
import pathlib
import time

import keras
import keras_tuner

from protloc.data import datasets
from protloc.models import recipes
from protloc.utils import files, runtime
from tuning.hypermodel import SEARCH_SPACE_NAMES, ProtlocHyperModel


def recording(tuner_class):
    """``tuner_class`` whose trials also write their Keras history, epoch by epoch, to ``TRIAL_DIR/history.csv``,
    and which calls its ``after_trial`` (if set) once each trial has ended and been saved."""
    class Recording(tuner_class):
        after_trial = None

        def run_trial(self, trial, *args, **kwargs):
            history = pathlib.Path(self.get_trial_dir(trial.trial_id)) / HISTORY_FILE
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), keras.callbacks.CSVLogger(str(history))]
            return super().run_trial(trial, *args, **kwargs)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            if self.after_trial is not None:
                self.after_trial()

    Recording.__name__ = f"Recording{tuner_class.__name__}"
    return Recording


class RecipeFirst:
    """An oracle mixin: a search's first configuration is its space's defaults (the recipe's own values, moved onto a
    search range's grid where they are not on it, with any fixed ones), the incumbent the drawn configurations are
    then measured against in the same report; every later one is drawn as the oracle draws. A search resumed after
    its first trial draws as usual."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recipe_offered = False

    def _random_values(self):
        if self._tried_so_far or self.recipe_offered:
            return super()._random_values()
        self.recipe_offered = True
        defaults = keras_tuner.HyperParameters()
        for hp in self.hyperparameters.space:
            defaults.merge([hp])
            if defaults.is_active(hp):
                defaults.values[hp.name] = hp.default
        return defaults.values


class RecipeFirstRandomOracle(RecipeFirst, keras_tuner.oracles.RandomSearchOracle):
    """Random search, the recipe first (:class:`RecipeFirst`)."""


class RecipeFirstBayesianOracle(RecipeFirst, keras_tuner.oracles.BayesianOptimizationOracle):
    """Bayesian optimisation, the recipe first among its initial points (:class:`RecipeFirst`)."""


class BracketedHyperbandOracle(RecipeFirst, keras_tuner.oracles.HyperbandOracle):
    """Hyperband's oracle, the recipe first (:class:`RecipeFirst`), run for its ``brackets`` most aggressive brackets
    only (None: all, one iteration): the successive-halving sweeps that try the most configurations for the least
    training. ``admissible``: a test of a configuration's values; a new configuration is drawn again (up to
    :data:`DRAWS` times, after which the oracle has no new configuration to give) until it passes."""

    def __init__(self, *args, brackets: int | None = None, admissible=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.brackets, self.admissible = brackets, admissible

    def _random_values(self):
        for _ in range(DRAWS):
            values = super()._random_values()
            if values is None or self.admissible is None or self.admissible(values):
                return values
        return None

    def populate_space(self, trial_id):
        try:
            return super().populate_space(trial_id)
        except _BracketLimit:
            return {"status": "IDLE"} if self.ongoing_trials else {"status": "STOPPED"}

    def _increment_bracket_num(self):
        started = self._get_num_brackets() - self._current_bracket
        if self.brackets is not None and started >= self.brackets:
            raise _BracketLimit
        super()._increment_bracket_num()


DRAWS = 1000
"""Random configurations drawn at most for one admissible configuration."""


class _BracketLimit(Exception):
    """Raised inside the oracle when the next bracket would exceed its limit."""


TUNER_ARGUMENTS = frozenset({"directory", "project_name", "overwrite", "max_model_size"})
"""Keyword arguments of :func:`on_oracle`'s tuners that go to the tuner; every other one goes to its oracle."""


def on_oracle(tuner_class, oracle_class):
    """``recording(tuner_class)`` (its trials run as ``tuner_class`` runs them: a Hyperband trial continues from an
    earlier round's weights) on an ``oracle_class`` of protloc's instead of the tuner's own; keyword arguments in
    :data:`TUNER_ARGUMENTS` go to the tuner, the rest to the oracle."""
    class OnOracle(recording(tuner_class)):
        def __init__(self, hypermodel, **kwargs):
            oracle = oracle_class(**{name: kwargs.pop(name) for name in list(kwargs) if name not in TUNER_ARGUMENTS})
            keras_tuner.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)

    OnOracle.__name__ = f"{tuner_class.__name__}On{oracle_class.__name__}"
    return OnOracle


HISTORY_FILE = "history.csv"
STARTS_FILE = "starts.json"
"""In a search's directory: the command lines and machines that started or resumed it (:func:`record_start`)."""
TUNERS = {"random": on_oracle(keras_tuner.RandomSearch, RecipeFirstRandomOracle),
          "bayesian": on_oracle(keras_tuner.BayesianOptimization, RecipeFirstBayesianOracle),
          "hyperband": on_oracle(keras_tuner.Hyperband, BracketedHyperbandOracle)}
"""The tuners by name, each trying the recipe first (:class:`RecipeFirst`)."""


def fixed_hyperparameters(assignments) -> keras_tuner.HyperParameters:
    """``["model=rlstm", "lstm_units=128"]`` -> HyperParameters with those values fixed (JSON-parsed values)."""
    hp = keras_tuner.HyperParameters()
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or name not in SEARCH_SPACE_NAMES:
            raise ValueError(f"--fix expects NAME=VALUE with NAME one of {', '.join(SEARCH_SPACE_NAMES)}; "
                             f"got {assignment!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        hp.Fixed(name, value)
    return hp


TUNER_ID_VARIABLE = "KERASTUNER_TUNER_ID"


def distributed_worker() -> str | None:
    """This process's tuner id when it is a worker of a distributed search (not the chief), else None."""
    tuner_id = os.environ.get(TUNER_ID_VARIABLE)
    return tuner_id if tuner_id and tuner_id != "chief" else None


def run_search(out, tuner: str, max_trials: int, epochs: int, spec: datasets.DatasetSpec, folds=None, seed: int = 0,
               recipe: str = recipes.DEFAULT_RECIPE, hyperparameters=None, verbose=1, data_dir=None,
               families=None, brackets: int | None = None, max_parameters: int | None = None,
               loss: str = "crossentropy", filter_range: tuple | None = None, exclude_folds=(),
               report_only: bool = False, max_cost: float | None = None, command: str | None = None) -> dict:
    """Runs (or resumes) a search in ``out`` on ``spec``'s training split, validating on ``folds`` (default: all
    of the spec's), every trial trained as ``recipe`` trains; returns the best run config (also written to
    best_hparams.json). ``epochs``: each trial's (random, bayesian) or the most any trial gets (hyperband, factor 3,
    its ``brackets`` most aggressive brackets), and the length of the recipe's schedule either way.
    ``max_parameters``: a trial whose network has more parameters fails without training (keras-tuner's
    ``max_model_size``). ``loss`` and ``filter_range``: see :class:`tuning.hypermodel.ProtlocHyperModel`, whose
    ``objective`` (validation accuracy, or a multi-label data set's average precision) scores the trials.
    ``max_cost`` (hyperband): only configurations whose estimated multiply-adds per residue are at most this many
    times the recipe's own R-LSTM's are tried (:meth:`tuning.hypermodel.ProtlocHyperModel.relative_cost`).

    ``command``: the command line that runs it, recorded with the machine (:func:`record_start`) for the report.
    The report (:func:`write_report`: history.json, trials.md) is rewritten after every trial, so an interrupted
    search keeps the record of every trial it finished. ``report_only``: run no trial, only write the report of the
    search in ``out`` so far (one still running or interrupted; trials not ended are listed as such) and return
    ``{"trials": n, "completed": k, "report": path}``. A distributed worker (:func:`distributed_worker`) runs the
    chief's trials and returns ``{"worker": its id}``; the chief writes the results."""
    out = pathlib.Path(out)
    hypermodel = ProtlocHyperModel(spec, folds, recipe, epochs, seed, data_dir, families, loss, filter_range,
                                   exclude_folds)
    objective = keras_tuner.Objective(hypermodel.objective, "max")
    options = dict(objective=objective, seed=seed, directory=str(out), project_name="tuner",
                   overwrite=False, hyperparameters=hyperparameters, max_consecutive_failed_trials=3,
                   max_model_size=max_parameters)
    if tuner == "hyperband":
        admissible = None if max_cost is None else (lambda values: hypermodel.relative_cost(values) <= max_cost)
        search = TUNERS["hyperband"](hypermodel, max_epochs=epochs, factor=3, brackets=brackets, admissible=admissible,
                                     **options)
    elif max_cost is not None:
        raise ValueError("a cost bound (max_cost) is for the hyperband tuner")
    else:
        search = TUNERS[tuner](hypermodel, max_trials=max_trials, **options)
    if report_only:
        search.oracle.reload()  # the tuner reloads it only once a trial has ended
        histories = write_report(search, hypermodel, out, epochs)
        return {"trials": len(histories), "completed": sum(h["status"] == "COMPLETED" for h in histories),
                "report": str(out / "trials.md")}
    if not distributed_worker():
        if command:
            record_start(out, command)
        search.after_trial = lambda: write_report(search, hypermodel, out, epochs)
    timer = [EpochSeconds()]
    if tuner == "hyperband":
        search.search(verbose=verbose, callbacks=timer)
    else:
        search.search(epochs=epochs, verbose=verbose, callbacks=timer)
    if distributed_worker():
        return {"worker": distributed_worker()}
    histories = write_report(search, hypermodel, out, epochs)
    best_trial = search.oracle.get_best_trials(1)[0]  # failed trials come last, after every completed one
    if best_trial.status != "COMPLETED":
        reasons = sorted({trial["failure"] or trial["status"] for trial in histories})
        raise SearchFailed(f"{out}: no trial of the search completed ({'; '.join(reasons)})")
    best = {**hypermodel.run_config(best_trial.hyperparameters), "dataset": spec.name,
            hypermodel.objective: best_trial.score, "folds": list(hypermodel.folds),
            "excluded_folds": list(hypermodel.exclude_folds), "epochs": epochs, "tuner": tuner}
    files.write_json(out / "best_hparams.json", best)
    return best


def record_start(out: pathlib.Path, command: str) -> None:
    """Adds a start of the search in ``out`` to ``out``/:data:`STARTS_FILE` (atomically): its command line and the
    machine it runs on (:func:`protloc.utils.runtime.describe_machine`), each kept once, in the order first seen, so
    that a search resumed elsewhere or with other options says so in its report."""
    path = out / STARTS_FILE
    starts = json.loads(path.read_text()) if path.exists() else {"commands": [], "machines": []}
    for key, value in (("commands", command), ("machines", runtime.describe_machine())):
        if value not in starts[key]:
            starts[key].append(value)
    files.write_json(path, starts)


def write_report(search, hypermodel: ProtlocHyperModel, out: pathlib.Path, epochs: int) -> list[dict]:
    """Writes ``out``/history.json (:func:`trial_histories`) and ``out``/trials.md (:func:`trials_markdown`), each
    atomically, for the search's trials so far; returns the histories."""
    histories = trial_histories(search, hypermodel)
    files.write_json(out / "history.json", histories)
    starts = json.loads((out / STARTS_FILE).read_text()) if (out / STARTS_FILE).exists() else None
    files.write_text(out / "trials.md", trials_markdown(search, histories, hypermodel.folds, epochs,
                                                         hypermodel.objective, starts))
    return histories


class SearchFailed(RuntimeError):
    """A search ended without a completed trial (e.g. every configuration over ``max_parameters``)."""


class EpochSeconds(keras.callbacks.Callback):
    """Adds each epoch's wall time (training and validation, seconds) to its logs as ``epoch_seconds``, which
    keras-tuner then records with the trial's other metrics."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self.start


def trial_histories(search, hypermodel: ProtlocHyperModel) -> list[dict]:
    """Every trial of a search so far, in trial order: id, status, score, its run config (as ``protloc train
    --config`` reads it) and relative cost (:meth:`tuning.hypermodel.ProtlocHyperModel.relative_cost`), the epoch
    it continued from and reached (Hyperband), and per epoch (its ``history.csv``) the training and validation
    accuracy (a multi-label data set: average precision, and the validation micro and macro F1 at 0.5) and wall
    seconds; a failed trial's reason."""
    found = []
    for trial in sorted(search.oracle.trials.values(), key=lambda t: int(t.trial_id)):
        values = trial.hyperparameters.values
        path = pathlib.Path(search.get_trial_dir(trial.trial_id)) / HISTORY_FILE
        rows = list(csv.DictReader(path.open())) if path.exists() else []
        names = ("accuracy", "val_accuracy", "locations_ap", "val_locations_ap", "val_locations_micro_f1",
                 "val_locations_macro_f1", "epoch_seconds")
        history = {name: [float(row[name]) for row in rows] for name in names if rows and name in rows[0]}
        found.append({"trial": trial.trial_id, "status": trial.status, "score": trial.score,
                      "config": hypermodel.run_config(trial.hyperparameters) if "model" in values else None,
                      "continues": values.get("tuner/trial_id"), "initial_epoch": values.get("tuner/initial_epoch", 0),
                      "epochs": values.get("tuner/epochs"), "history": history,
                      "relative_cost": hypermodel.relative_cost(values) if "model" in values else None,
                      "seconds": sum(history.get("epoch_seconds", [])), "failure": failure(trial)})
    return found


def failure(trial) -> str | None:
    """Why a trial failed (the last line of keras-tuner's message: the exception), or None."""
    if trial.status != "FAILED" or not trial.message:
        return None
    return trial.message.strip().splitlines()[-1].split(": ", 1)[-1]


def hyperband_plan(oracle) -> str | None:
    """A Hyperband oracle's brackets in words, each as its rounds (how many configurations train to which epoch) and
    the epochs it trains in all (a continued trial trains only its new epochs); None for other oracles."""
    if not isinstance(oracle, keras_tuner.oracles.HyperbandOracle):
        return None
    total = oracle._get_num_brackets()
    plans = []
    for bracket in range(total - 1, total - 1 - (getattr(oracle, "brackets", None) or total), -1):
        rounds = [(oracle._get_size(bracket, r), oracle._get_epochs(bracket, r))
                  for r in range(oracle._get_num_rounds(bracket))]
        trained = sum(size * (epoch - (rounds[r - 1][1] if r else 0)) for r, (size, epoch) in enumerate(rounds))
        steps = (f"{size} configuration{'s' * (size != 1)} to epoch {epoch}" for size, epoch in rounds)
        plans.append(", then ".join(steps) + f" ({trained} epochs)")
    return "Hyperband: " + "; ".join(plans) + "."


def start_lines(starts: dict | None) -> list[str]:
    """The report's ``Command:`` and ``Machine:`` lines (:func:`record_start`); several of each where the search was
    resumed with another command line or on another machine."""
    if not starts:
        return ["Command: not recorded  ", "Machine: not recorded"]
    commands = "; resumed with ".join(f"`{command}`" for command in starts["commands"])
    return [f"Command: {commands}  ", "Machine: " + "; ".join(starts["machines"])]


def trials_markdown(search, histories: list[dict], folds, epochs, objective: str = "val_accuracy",
                    starts: dict | None = None) -> str:
    """Every trial of a search (:func:`trial_histories`), best first: status, the epochs it trained (from and to, a
    Hyperband trial continuing an earlier one; a trial not ended, those it finished of those it was given), its wall
    seconds, its relative cost, the objective and (multi-label) the validation micro and macro F1 at 0.5 of its last
    epoch, and its hyper-parameters (floats to 6 decimals). ``starts`` (:func:`record_start`): the command lines
    and machines of the search's starts, written under the title ("not recorded" without it)."""
    oracle = search.oracle.trials
    recorded = [name for name in ("val_locations_micro_f1", "val_locations_macro_f1")
                if any(trial.metrics.exists(name) for trial in oracle.values())]
    lines = [f"# Search trials ({len(histories)}; objective: mean {objective} over folds {list(folds)}, "
             f"{epochs} epochs; {sum(h['seconds'] for h in histories) / 3600:.1f} h of training)", "",
             *start_lines(starts), "",
             "Status: " + ", ".join(f"{count} {status.lower()}" for status, count in
                                    collections.Counter(h["status"] for h in histories).items())
             + ". A trial not ended (running, or stopped with its search) shows the epochs it finished of those it was"
             " given.", "",
             *([plan, ""] if (plan := hyperband_plan(search.oracle)) else []),
             "Cost: the configuration's estimated multiply-adds per residue over the recipe's own R-LSTM's "
             "(tuning.cost).", "",
             f"| trial | status | epochs | seconds | cost | {objective} | " + "".join(f"{name} | " for name in recorded)
             + "hyper-parameters |", "|---|---|---|---:|---:|---:|" + "---:|" * len(recorded) + "---|"]
    for history in sorted(histories, key=lambda h: (h["score"] is None, -(h["score"] or 0))):
        trial = oracle[history["trial"]]
        score = f"{history['score']:.4f}" if history["score"] is not None else "-"
        finished = history["initial_epoch"] + len(history["history"].get("epoch_seconds", []))
        if history["status"] == "COMPLETED":
            reached = history["epochs"] or finished
        else:  # not ended: the epochs finished so far, of the ones it was given
            reached = f"{finished} of {history['epochs']}" if history["epochs"] else finished
        span = f"{history['initial_epoch']}-{reached}" if history["initial_epoch"] else f"{reached}"
        values = "".join(f"{trial.metrics.get_last_value(name):.4f} | " if trial.metrics.exists(name) else "- | "
                         for name in recorded)
        hyperparameters = {name: round(value, 6) if isinstance(value, float) else value
                           for name, value in trial.hyperparameters.values.items()}
        relative = f"{history['relative_cost']:.2f}" if history["relative_cost"] is not None else "-"
        lines.append(f"| {history['trial']} | {history['status']} | {span} | {history['seconds']:.0f} | {relative} | "
                     f"{score} | {values}`{json.dumps(hyperparameters)}` |")
    return "\n".join(lines) + "\n"
