# Every target sets itself up from nothing: a virtual environment in .venv with the package installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The MultiLoc FASTA files (never copied into the repository).
export PROTLOC_DATA_DIR ?= $(abspath ../shared/data/multiloc)
# DeepLoc 2.0's five partition files (never copied into the repository).
export PROTLOC_DEEPLOC2_DIR ?= $(abspath ../shared/data/deeploc2)

.PHONY: test test-fast demo bench $(BENCHMARKS) clean

$(STAMP): setup.cfg setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test,tfds-cli,serving,beam,serve]"
	# predector-utils, whose DeepLoc parser the tests feed --format deeploc1 files: without its dependencies, as its
	# parsers need only pandas and Biopython (installed above) and its xgboost (130 MB) serves other analyses
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps predectorutils==0.9.1
	touch $@

# both tiers run on every core (pytest-xdist: one worker process per core, a test file's tests on one worker so that
# its shared fixtures are built once)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# the fast tier: layers, pipeline, presets and the predictor on toy data (no subprocess-heavy or real-data tests)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile -m "not slow"

demo: $(STAMP)
	$(BIN)/python -m protloc.apps.demo

# The commands behind benchmarks/results/, as committed, one target per result (each resumes where it stopped; days in
# all on 2 CPU cores). `make bench` runs them all. Retired benchmarks (recipe trials, the learning curve, fusion forms,
# profile costs, import time, the MultiLoc homology study): docs/reference.md, "Code layout".
BENCHMARKS = bench-table1 bench-multiloc-paper-fusion bench-speed bench-screenshots bench-multiloc bench-deeploc2 \
	bench-deeploc2-loss bench-deeploc2-levers bench-deeploc2-epochs bench-deeploc2-homology bench-deeploc2-motifs bench-deeploc2-kingdom bench-deeploc2-search bench-deeploc2-signals bench-interop
bench: $(BENCHMARKS)

# table1.md, table1-cv.md, table1-50-epochs.md: the paper's Table 1 (the paper's own setting is table1.py's default,
# --epochs 100, learning rate 2e-4); the A-LSTM folds of table1-cv ran on a GPU (docs/reproduction.md)
bench-table1: $(STAMP)
	$(BIN)/python benchmarks/table1.py --epochs 20 --learning-rate 1e-3 --members 10 --out runs/table1
	$(BIN)/python benchmarks/table1.py --epochs 20 --learning-rate 1e-3 --members 10 --cv-only --out runs/table1-cv --results table1-cv
	$(BIN)/python benchmarks/table1.py --epochs 50 --learning-rate 1e-3 --members 10 --out runs/table1-50-epochs --start-from runs/table1 --results table1-50-epochs

# the multiloc-paper preset's fusion rule, fitted on a fast-recipe R-LSTM that held out training fold 0 (the study of
# fusion rules and ensembles around it, benchmarks/homology.py and homology.md, is at commit 3649b74), then its test
# split with homology once
bench-multiloc-paper-fusion: $(STAMP)
	$(BIN)/protloc train --out runs/fold0-fast/seed0 --fold 0 --recipe fast --seed 0
	$(BIN)/protloc fuse protloc/prediction/presets/multiloc-paper --fold-run runs/fold0-fast/seed0
	$(BIN)/protloc evaluate protloc/prediction/presets/multiloc-paper --split test --homology --card --out benchmarks/results/multiloc-paper

# predict-speed.md (proteins/s, start-up and memory of the shipped presets), beam-speed.md and
# train-speed.md (training throughput of the DeepLoc 2.0 model per backend and precision)
bench-speed: $(STAMP)
	$(BIN)/python benchmarks/predict_speed.py --proteomes ../shared/data/proteomes --model deeploc2 --model multiloc
	$(BIN)/python benchmarks/beam_speed.py --proteins 20000 --shards 4
	$(BIN)/python benchmarks/train_speed.py

# the README's pictures of protloc serve (needs Chromium)
bench-screenshots: $(STAMP)
	$(BIN)/python benchmarks/screenshots.py

# The shipped MultiLoc presets: the configuration a keras-tuner search chose (the `coarse` recipe's own; the search,
# benchmarks/tuner_search.py and tuning.md, is at commit 3649b74; docs/reference.md, "Hyper-parameter search") on the
# whole training split (10 seeds: the ensemble; seed 0: the single preset), stored as float16, fusion fitted on fold-0
# runs of the same configuration (seed 0 for the single preset; seeds 0-2 for the ensemble), then the test split once
MULTILOC_SEEDS = 0 1 2 3 4 5 6 7 8 9
bench-multiloc: $(STAMP)
	for seed in 0 1 2; do $(BIN)/protloc train --recipe coarse --fold 0 --seed $$seed --out runs/multiloc/fold0/seed$$seed || exit 1; done
	for seed in $(MULTILOC_SEEDS); do $(BIN)/protloc train --recipe coarse --seed $$seed --out runs/multiloc/all/seed$$seed || exit 1; done
	$(BIN)/protloc preset runs/multiloc/all/seed0 --out protloc/prediction/presets/multiloc --name multiloc --half --reference ../multiloc-paper/reference.fasta.gz --description "R-LSTM in the configuration a keras-tuner search chose (docs/reference.md, Hyper-parameter search), on MultiLoc's training split: 11 compartments"
	$(BIN)/protloc preset $(foreach seed,$(MULTILOC_SEEDS),runs/multiloc/all/seed$(seed)) --out protloc/prediction/presets/multiloc-ensemble --name multiloc-ensemble --half --reference ../multiloc-paper/reference.fasta.gz --description "Ensemble of 10 R-LSTMs (the multiloc preset's configuration, seeds 0-9, probabilities averaged) on MultiLoc's training split"
	$(BIN)/protloc fuse protloc/prediction/presets/multiloc --fold-run runs/multiloc/fold0/seed0
	$(BIN)/protloc fuse protloc/prediction/presets/multiloc-ensemble $(foreach seed,0 1 2,--fold-run runs/multiloc/fold0/seed$(seed))
	for preset in multiloc multiloc-ensemble; do $(BIN)/protloc evaluate protloc/prediction/presets/$$preset --split test --card --out benchmarks/results/$$preset && $(BIN)/protloc evaluate protloc/prediction/presets/$$preset --split test --homology --card --out benchmarks/results/$$preset || exit 1; done


# DeepLoc 2.0 (benchmarks/results/deeploc2-cv.md): the five cross-validation runs, each holding
# out one partition (kept in benchmarks/weights as float16, and scored from there), and the shipped preset, one network
# on all five partitions, its fusion and thresholds fitted on the five runs' out-of-fold predictions
DEEPLOC2_FOLDS = $(foreach k,0 1 2 3 4,benchmarks/weights/deeploc2-fold$(k))
# the recipe chosen on partition 4 (bench-deeploc2-levers): terminal windows and the location-weighted loss
DEEPLOC2_RECIPE = --dataset deeploc2 --epochs 15 --seed 0 --terminal-windows 100 50 --loss weighted
LEVER_BASE = --dataset deeploc2 --epochs 15 --seed 0
LEVER_RUN = $(LEVER_BASE) --fold 4 --exclude-fold 0

bench-deeploc2: $(STAMP)
	for k in 0 1 2 3 4; do $(BIN)/protloc train $(DEEPLOC2_RECIPE) --fold $$k --out runs/deeploc2/cv/fold$$k || exit 1; done
	for k in 0 1 2 3 4; do $(BIN)/python benchmarks/keep_run.py runs/deeploc2/cv/fold$$k benchmarks/weights/deeploc2-fold$$k --half || exit 1; done
	$(BIN)/protloc train $(DEEPLOC2_RECIPE) --out runs/deeploc2/all/seed0
	$(BIN)/protloc preset runs/deeploc2/all/seed0 --out protloc/prediction/presets/deeploc2 --name deeploc2 --xz --half --description "R-LSTM with terminal windows (100 N-, 50 C-terminal residues) and location-weighted loss (coarse recipe, 15 epochs) on DeepLoc 2.0's 28,303 Swiss-Prot proteins: one or more of 10 locations and membrane association"
	$(BIN)/protloc fuse protloc/prediction/presets/deeploc2 $(foreach run,$(DEEPLOC2_FOLDS),--fold-run $(run))
	$(BIN)/python benchmarks/deeploc2_cv.py $(foreach run,$(DEEPLOC2_FOLDS),--cv-run $(run)) --card protloc/prediction/presets/deeploc2

# the coarse recipe's fold-0 run (trained on partitions 1-4), the baseline of the loss and kingdom comparisons below
# (they were written when the cross-validation's kept fold-0 run, benchmarks/weights/deeploc2-fold0, was this run)
COARSE_FOLD0 = runs/deeploc2/coarse/fold0
$(COARSE_FOLD0)/model.keras: $(STAMP)
	$(BIN)/protloc train --dataset deeploc2 --fold 0 --epochs 15 --seed 0 --out $(COARSE_FOLD0)

# deeploc2-loss/: focal loss against binary cross-entropy, a focal run on partitions 1-4 beside the coarse fold-0 run,
# both scored on partition 0 (each with its thresholds fitted there by protloc train, the same for both)
bench-deeploc2-loss: $(COARSE_FOLD0)/model.keras
	$(BIN)/protloc train --dataset deeploc2 --fold 0 --epochs 15 --seed 0 --loss focal --out runs/deeploc2/focal/fold0
	$(BIN)/protloc evaluate $(COARSE_FOLD0) --split validation --out benchmarks/results/deeploc2-loss/cross-entropy
	$(BIN)/protloc evaluate runs/deeploc2/focal/fold0 --split validation --out benchmarks/results/deeploc2-loss/focal

# kingdom.md: the kingdom as an optional input, a fold-0 run with --kingdom against the coarse fold-0 run, on
# partition 0
bench-deeploc2-kingdom: $(COARSE_FOLD0)/model.keras
	$(BIN)/protloc train --dataset deeploc2 --fold 0 --epochs 15 --seed 0 --kingdom --out runs/deeploc2/kingdom/fold0
	$(BIN)/python benchmarks/deeploc2_levers.py --run "without the input=$(COARSE_FOLD0)" --run "kingdom given=runs/deeploc2/kingdom/fold0" --run "kingdom model, not given=runs/deeploc2/kingdom/fold0:withheld" --results kingdom

# deeploc2-levers.md: levers for the model, chosen on partition 4 after training on partitions 1-3, partition 0 never
# read (docs/deeploc2.md, "Choosing on the modern data"); the ensemble lever is the inner cross-validation of partitions
# 1-3 (three networks, each on two of them), as the five cross-validation runs stand to one network on all five;
# predict-speed-levers.md: what the five cross-validation runs as one ensemble preset and MMseqs2 -s 7.5 would cost;
# deeploc2-thresholds.md: the chosen recipe's run with its thresholds fitted for micro F1, each location's MCC or F1
LEVERS = baseline terminal weighted terminal-weighted
INNER_CV = runs/deeploc2/levers/inner1+runs/deeploc2/levers/inner2+runs/deeploc2/levers/inner3
bench-deeploc2-levers: $(STAMP)
	$(BIN)/protloc train $(LEVER_RUN) --out runs/deeploc2/levers/baseline
	$(BIN)/protloc train $(LEVER_RUN) --terminal-windows 100 50 --out runs/deeploc2/levers/terminal
	$(BIN)/protloc train $(LEVER_RUN) --loss weighted --out runs/deeploc2/levers/weighted
	$(BIN)/protloc train $(LEVER_RUN) --terminal-windows 100 50 --loss weighted --out runs/deeploc2/levers/terminal-weighted
	for k in 1 2 3; do $(BIN)/protloc train $(LEVER_BASE) --fold $$k --exclude-fold 0 --exclude-fold 4 --terminal-windows 100 50 --loss weighted --out runs/deeploc2/levers/inner$$k || exit 1; done
	$(BIN)/python benchmarks/deeploc2_levers.py $(foreach lever,$(LEVERS),--run $(lever)=runs/deeploc2/levers/$(lever)) --run "inner-cv ensemble=$(INNER_CV)"
	$(BIN)/protloc preset $(DEEPLOC2_FOLDS) --out runs/deeploc2/cv-ensemble --reference $(abspath protloc/prediction/presets/deeploc2/reference.fasta.xz) --description "the five cross-validation runs of the deeploc2 recipe as one ensemble"
	$(BIN)/protloc fuse runs/deeploc2/cv-ensemble $(foreach run,$(DEEPLOC2_FOLDS),--fold-run $(run))
	$(BIN)/python benchmarks/predict_speed.py --proteomes ../shared/data/proteomes --proteins 20000 --model deeploc2 --model runs/deeploc2/cv-ensemble --bare-setting 7.5:20 --results predict-speed-levers
	$(BIN)/python benchmarks/deeploc2_levers.py --run terminal-weighted=runs/deeploc2/levers/terminal-weighted $(foreach objective,micro_f1 mcc f1,--objective $(objective)) --results deeploc2-thresholds

# deeploc2-epochs.{md,json}: the chosen recipe trained twice as long (30 epochs: the same warm-up + cosine schedule
# stretched), beside its 15-epoch run of the levers (bench-deeploc2-levers's terminal-weighted), on the levers'
# protocol (1-3 train, 4 scores, 0 never read)
bench-deeploc2-epochs: $(STAMP)
	$(BIN)/protloc train $(LEVER_RUN) --epochs 30 --terminal-windows 100 50 --loss weighted --out runs/deeploc2/levers/terminal-weighted-30
	$(BIN)/python benchmarks/deeploc2_levers.py --run terminal-weighted=runs/deeploc2/levers/terminal-weighted --run "30 epochs=runs/deeploc2/levers/terminal-weighted-30" --results deeploc2-epochs

# deeploc2-homology.{md,json}: MMseqs2 settings for the fusion on the levers' protocol (fitted on partitions 1-3, scored
# on 4, 0 never read), from the kept cross-validation runs' out-of-fold probabilities; no training
HOMOLOGY_SETTINGS = package=4:20:10 sensitive=7.5:20:10 sensitive-300=7.5:300:10 sensitive-300-30=7.5:300:30
bench-deeploc2-homology: $(STAMP)
	$(BIN)/python benchmarks/deeploc2_homology.py $(foreach k,1 2 3 4,--cv-run benchmarks/weights/deeploc2-fold$(k)) --exclude-partition 0 --score-partition 4 $(foreach s,$(HOMOLOGY_SETTINGS),--setting $(s))

# deeploc2-motifs.{md,json}: C-terminal sorting motifs (PTS1, ER retrieval) as evidence beside the network, on the
# same protocol (shifts, fusion and thresholds fitted on partitions 1-3, scored on 4, 0 never read), at the package's
# grid of candidate thresholds and a finer one; no training
bench-deeploc2-motifs: $(STAMP)
	$(BIN)/python benchmarks/deeploc2_motifs.py $(foreach k,1 2 3 4,--cv-run benchmarks/weights/deeploc2-fold$(k)) --exclude-partition 0 --score-partition 4 --arm PTS1=PTS1 --arm "all three=PTS1,(K/H/R)DEL,KKXX" --candidates 99 --candidates 999

# deeploc2-search.{md,json}: a keras-tuner search on the same protocol as the levers (partitions 1-3 train, 4 validates,
# 0 never read): Hyperband's most aggressive bracket over 15 epochs, R-LSTM and A-LSTM, the chosen levers fixed
# (terminal windows 100/50, location-weighted loss), filters per width 10-70, only configurations of at most 1.6 times
# the recipe's multiply-adds per residue (what prediction at 300 proteins/s affords); every trial, its cost and scores.
# (deeploc2-search-unbounded.{md,json}: the same search without the bound, stopped after 4 trials: docs/deeploc2.md.)
# deeploc2-search-best.{md,json}: the best configuration trained as the levers were (same seed and epochs) and scored
# beside the chosen recipe (bench-deeploc2-levers's terminal-weighted run) by the levers' script, as every lever was;
# predict-speed-search-best.{md,json}: its prediction speed beside the shipped preset's (>= 300 proteins/s to ship)
bench-deeploc2-search: $(STAMP)
	$(BIN)/python -m tuning.search --dataset deeploc2 --fold 4 --exclude-fold 0 --tuner hyperband --epochs 15 --brackets 1 --loss weighted --filter-range 10 70 10 --fix terminal_n=100 --fix terminal_c=50 --max-cost 1.6 --out runs/deeploc2/search
	cp runs/deeploc2/search/trials.md benchmarks/results/deeploc2-search.md
	cp runs/deeploc2/search/history.json benchmarks/results/deeploc2-search.json
	$(BIN)/protloc train --config runs/deeploc2/search/best_hparams.json $(LEVER_RUN) --loss weighted --out runs/deeploc2/levers/search-best
	$(BIN)/python benchmarks/deeploc2_levers.py --run terminal-weighted=runs/deeploc2/levers/terminal-weighted --run search-best=runs/deeploc2/levers/search-best --results deeploc2-search-best
	$(BIN)/python benchmarks/predict_speed.py --proteomes ../shared/data/proteomes --proteins 20000 --model deeploc2 --model runs/deeploc2/levers/search-best --results predict-speed-search-best

# deeploc2-signals.md and deeploc2-cv-signals.md: the chosen recipe with the sorting-signal head, the same five
# cross-validation runs (signals out of fold; locations against deeploc2-cv.md, the same recipe without the head)
SIGNAL_RUN = $(DEEPLOC2_RECIPE) --signals
bench-deeploc2-signals: $(STAMP)
	for k in 0 1 2 3 4; do PROTLOC_DEEPLOC2_SIGNALS_DIR=$(abspath ../shared/data/deeploc2-signals) $(BIN)/protloc train $(SIGNAL_RUN) --fold $$k --out runs/deeploc2/signals/fold$$k || exit 1; done
	PROTLOC_DEEPLOC2_SIGNALS_DIR=$(abspath ../shared/data/deeploc2-signals) $(BIN)/python benchmarks/deeploc2_signals.py $(foreach k,0 1 2 3 4,--cv-run runs/deeploc2/signals/fold$(k))
	$(BIN)/python benchmarks/deeploc2_cv.py $(foreach k,0 1 2 3 4,--cv-run runs/deeploc2/signals/fold$(k)) --results deeploc2-cv-signals

# DeepLoc 2.0's file as R pipelines read it (needs R; Debian: apt-get install r-base-core r-bioc-isoformswitchanalyzer)
bench-interop: $(STAMP)
	$(BIN)/protloc predict protloc/prediction/presets/examples.fasta --format deeploc2 -o runs/interop/examples.csv
	Rscript benchmarks/deeploc2_in_r.R runs/interop/examples.csv > benchmarks/results/deeploc2-in-r.md

clean:
	rm -rf $(VENV) build *.egg-info
