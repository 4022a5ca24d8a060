# Every target sets itself up from nothing: a virtual environment in .venv with the package installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The MultiLoc FASTA files (never copied into the repository).
export PROTLOC_DATA_DIR ?= $(abspath ../shared/data/multiloc)
# DeepLoc 2.0's five partition files (never copied into the repository).
export PROTLOC_DEEPLOC2_DIR ?= $(abspath ../shared/data/deeploc2)

.PHONY: test test-fast demo bench bench-deeploc2 bench-multiloc bench-interop clean

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

# Long (days on 2 CPU cores): the commands behind benchmarks/results/, as committed; each resumes where it
# stopped. The paper's own setting is table1.py's default (--epochs 100, learning rate 2e-4).
FAST_MEMBERS = runs/profiles/rlstm-60,runs/ensemble-fast/seed1,runs/ensemble-fast/seed2,runs/ensemble-fast/seed3,runs/ensemble-fast/seed4,runs/ensemble-fast/seed5,runs/ensemble-fast/seed6
FOLD_RUNS = --fold-run runs/fold0-fast/seed0 --fold-run runs/fold0-fast/seed1 --fold-run runs/fold0-fast/seed2

bench: $(STAMP)
	$(BIN)/python benchmarks/table1.py --epochs 20 --learning-rate 1e-3 --members 10 --out runs/table1
	# table1-cv.md: 5-fold CV of both models (its A-LSTM folds ran on a GPU: README, "Training without TensorFlow")
	$(BIN)/python benchmarks/table1.py --epochs 20 --learning-rate 1e-3 --members 10 --cv-only --out runs/table1-cv --results table1-cv
	$(BIN)/python benchmarks/learning_curve.py --model rlstm --fold 0 --epochs 60 --learning-rate 1e-3 --out runs/learning-curve
	$(BIN)/python benchmarks/table1.py --epochs 50 --learning-rate 1e-3 --members 10 --out runs/table1-50-epochs --start-from runs/table1 --results table1-50-epochs
	$(BIN)/python benchmarks/speed.py --train-steps 30 --rounds 1
	bash benchmarks/smoke_multiloc.sh 5
	# the fusion's first rule (docs/homology.md, steps 1-3): fitted on this one fold model
	$(BIN)/protloc train --backend jax --recipe fast --epochs 20 --train-max-length 600 --dropout 0.5 --fold 0 --seed 0 --out runs/fusion/rlstm-fold0
	# homology.md's rows for the fast-recipe models (the profile runs are trained below)
	$(BIN)/protloc train --model alstm --out runs/alstm-fast --recipe fast --seed 0
	# recipe-trials.md: the trials behind the fast recipe (each a protloc train run with fold 0 held out)
	$(BIN)/protloc train --out runs/explore/d25-lr3e3-e16 --fold 0 --recipe fast --backend jax --dropout 0.25 --epochs 16 --train-max-length 600
	$(BIN)/protloc train --out runs/explore/d10-lr3e3-e20 --fold 0 --recipe fast --backend jax --dropout 0.1 --epochs 20 --train-max-length 600
	$(BIN)/protloc train --out runs/explore/tf-d25-e24 --fold 0 --recipe fast --backend tensorflow --dropout 0.25 --epochs 24 --train-max-length 600
	$(BIN)/protloc train --out runs/explore/tf-d25-b16-e20 --fold 0 --recipe fast --backend tensorflow --dropout 0.25 --batch-size 16 --learning-rate 2e-3 --epochs 20 --train-max-length 600  # stopped after 9 epochs
	$(BIN)/protloc train --out runs/explore/tf-d25-c400-e30 --fold 0 --recipe fast --backend tensorflow --dropout 0.25 --train-max-length 400 --epochs 30
	$(BIN)/protloc train --out runs/explore/tf-d50-c400-e30 --fold 0 --recipe fast --backend tensorflow --dropout 0.5 --train-max-length 400 --epochs 30
	$(BIN)/protloc train --out runs/explore/tf-d25-c400-e24 --fold 0 --recipe fast --backend tensorflow --dropout 0.25 --train-max-length 400 --epochs 24
	$(BIN)/protloc train --out runs/explore/tf-d25-c400-b64-e30 --fold 0 --recipe fast --backend tensorflow --batch-size 64 --learning-rate 0.004
	# fast itself, seeds 0-2 on fold 0 (the fold models of homology.md's fusion)
	for seed in 0 1 2; do $(BIN)/protloc train --out runs/fold0-fast/seed$$seed --fold 0 --recipe fast --seed $$seed || exit 1; done
	# max pooling before the LSTMs (--pool-size), on fast's schedule with proteins cut to 400 or whole (the pooled recipe)
	$(BIN)/protloc train --out runs/explore/pool2-fast-e30 --fold 0 --recipe fast --pool-size 2
	$(BIN)/protloc train --out runs/explore/pool2-c1000-e30 --fold 0 --recipe fast --pool-size 2 --train-max-length 1000
	$(BIN)/protloc train --out runs/explore/pool3-c1000-e30 --fold 0 --recipe fast --pool-size 3 --train-max-length 1000
	$(BIN)/protloc train --out runs/explore/pool2-c1000-e24 --fold 0 --recipe fast --pool-size 2 --train-max-length 1000 --epochs 24
	$(BIN)/protloc train --out runs/explore/pool3-c1000-d35-e30 --fold 0 --recipe fast --pool-size 3 --train-max-length 1000 --dropout 0.35
	# the pooled recipe itself, seed 1 on fold 0 (seed 0: explore/pool2-c1000-e30 above)
	$(BIN)/protloc train --out runs/pooled-fold0/seed1 --fold 0 --seed 1 --recipe pooled
	# the 50-epoch recipe of the shipped R-LSTM on training folds 1-4 (fusion-forms.md, recipe-trials.md)
	$(BIN)/protloc train --out runs/fold0-paper50/seed0 --fold 0 --seed 0 --recipe paper --epochs 50 --learning-rate 0.001
	$(BIN)/python benchmarks/recipe_trials.py runs/explore/d25-lr3e3-e16:jax runs/explore/d10-lr3e3-e20:jax runs/explore/tf-d25-e24:tensorflow runs/explore/tf-d25-b16-e20:tensorflow runs/explore/tf-d25-c400-e30:tensorflow runs/explore/tf-d50-c400-e30:tensorflow runs/explore/tf-d25-c400-e24:tensorflow runs/explore/tf-d25-c400-b64-e30:tensorflow runs/fold0-fast/seed0:tensorflow runs/fold0-fast/seed1:tensorflow runs/fold0-fast/seed2:tensorflow runs/fold0-paper50/seed0:tensorflow runs/explore/pool2-fast-e30 runs/explore/pool2-c1000-e30 runs/explore/pool3-c1000-e30 runs/explore/pool2-c1000-e24 runs/explore/pool3-c1000-d35-e30 runs/pooled-fold0/seed1
	$(BIN)/python benchmarks/train_speed.py --fold 0
	$(BIN)/python benchmarks/conv_bank_speed.py
	# pooling over 4 or 6 residues on pooled's schedule, without and with each conv filter's maximum over the protein
	# (--global-max); 30 epochs at pooling 4 with it is the coarse recipe (the default), trained by train_speed.py above
	$(BIN)/protloc train --out runs/explore/pool4-c1000-e36 --fold 0 --recipe pooled --pool-size 4 --epochs 36
	$(BIN)/protloc train --out runs/explore/pool4-gmax-e36 --fold 0 --recipe pooled --pool-size 4 --global-max --epochs 36
	$(BIN)/protloc train --out runs/explore/pool6-gmax-e30 --fold 0 --recipe pooled --pool-size 6 --global-max
	# the coarse recipe itself, seed 1 on fold 0
	$(BIN)/protloc train --out runs/coarse-fold0/seed1 --fold 0 --seed 1 --recipe coarse
	$(BIN)/python benchmarks/recipe_trials.py runs/train-speed/old runs/explore/pool4-c1000-e36 runs/explore/pool4-gmax-e36 runs/explore/pool6-gmax-e30 runs/train-speed/new runs/coarse-fold0/seed1 --results recipe-trials-coarse
	# the pooled and coarse (default) recipes on the whole training split, each scored once on the test split (README)
	$(BIN)/protloc train --out runs/pooled/seed0 --seed 0 --recipe pooled
	$(BIN)/protloc evaluate runs/pooled/seed0 --split test --out benchmarks/results/pooled-rlstm
	$(BIN)/protloc train --out runs/coarse/seed0 --seed 0
	$(BIN)/protloc evaluate runs/coarse/seed0 --split test --out benchmarks/results/coarse-rlstm
	# prediction speed of the shipped presets against protloc before this speed work (787715b, its shipped model)
	$(BIN)/python benchmarks/predict_speed.py --proteomes ../shared/data/proteomes --model deeploc2 --model multiloc --baseline 787715b --baseline-model pretrained
	$(BIN)/python benchmarks/beam_speed.py --proteins 20000 --shards 4
	# the README's pictures of protloc serve (needs Chromium)
	$(BIN)/python benchmarks/screenshots.py
	# profiles.md: 60 against 80 features (same recipe, seed and split), profile cost
	$(BIN)/protloc train --out runs/profiles/rlstm-60 --recipe fast --seed 0
	$(BIN)/protloc train --out runs/profiles/rlstm-80 --recipe fast --seed 0 --profile-db ../shared/data/proteomes ../shared/data/multiloc
	# homology.md's seven fast-recipe R-LSTMs (seed 0 is runs/profiles/rlstm-60); its ten-member row also had the three
	# 50-epoch R-LSTMs of the retired pretrained-ensemble preset (git checkout 6656012 -- protloc/prediction/presets/pretrained-ensemble)
	for seed in 1 2 3 4 5 6; do $(BIN)/protloc train --out runs/ensemble-fast/seed$$seed --recipe fast --seed $$seed || exit 1; done
	# fusion-forms.md: the fusion rule's form, chosen by cross-validation within training fold 0, on the fast fold
	# models and one of the shipped model's 50-epoch recipe (runs/fold0-paper50, above)
	$(BIN)/python benchmarks/fusion_forms.py $(FOLD_RUNS) --fold-run runs/fold0-paper50/seed0
	# homology.md and the shipped reference + fusion files: fusion fitted per model on training fold 0 held out,
	# from 1-3 fast-recipe models trained on folds 1-4 (runs/fold0-fast, above)
	$(BIN)/python benchmarks/homology.py $(FOLD_RUNS) --run alstm-fast=runs/alstm-fast --run rlstm-fast=runs/profiles/rlstm-60 --run rlstm-fast-profiles=runs/profiles/rlstm-80 --ensemble "7 fast R-LSTMs=$(FAST_MEMBERS)"
	# the multiloc-paper preset's fusion rule, fitted by the package as homology.py fits it
	$(BIN)/protloc fuse protloc/prediction/presets/multiloc-paper --fold-run runs/fold0-fast/seed0
	# profiles.md's fused rows use the fusion fitted on a fast-recipe fold-0 run (multiloc-paper's)
	$(BIN)/python benchmarks/profiles.py --profile-db ../shared/data/proteomes ../shared/data/multiloc --sequence-run runs/profiles/rlstm-60 --profile-run runs/profiles/rlstm-80 --fusion-preset multiloc-paper

clean:
	rm -rf $(VENV) build *.egg-info

# DeepLoc 2.0 (benchmarks/results/deeploc2-cv.md, cross-evaluation.md): the five cross-validation runs, each holding
# out one partition (kept in benchmarks/weights as float16, and scored from there), and the shipped preset, one network
# on all five partitions, its fusion and thresholds fitted on the five runs' out-of-fold predictions
DEEPLOC2_FOLDS = $(foreach k,0 1 2 3 4,benchmarks/weights/deeploc2-fold$(k))
LEVER_RUN = --dataset deeploc2 --fold 4 --exclude-fold 0 --epochs 15 --seed 0

bench-deeploc2: $(STAMP)
	for k in 0 1 2 3 4; do $(BIN)/protloc train --dataset deeploc2 --fold $$k --epochs 15 --seed 0 --out runs/deeploc2/cv/fold$$k || exit 1; done
	for k in 0 1 2 3 4; do $(BIN)/python benchmarks/keep_run.py runs/deeploc2/cv/fold$$k benchmarks/weights/deeploc2-fold$$k --half || exit 1; done
	$(BIN)/protloc train --dataset deeploc2 --epochs 15 --seed 0 --out runs/deeploc2/all/seed0
	$(BIN)/protloc preset runs/deeploc2/all/seed0 --out protloc/prediction/presets/deeploc2 --name deeploc2 --xz --half --description "R-LSTM (coarse recipe, 15 epochs) on DeepLoc 2.0's 28,303 Swiss-Prot proteins: one or more of 10 locations and membrane association"
	$(BIN)/protloc fuse protloc/prediction/presets/deeploc2 $(foreach run,$(DEEPLOC2_FOLDS),--fold-run $(run))
	$(BIN)/python benchmarks/deeploc2_cv.py $(foreach run,$(DEEPLOC2_FOLDS),--cv-run $(run)) --card protloc/prediction/presets/deeploc2
	# focal loss against binary cross-entropy: a focal run on partitions 1-4, both runs scored on partition 0 (each
	# with its thresholds fitted there by protloc train, the same for both)
	$(BIN)/protloc train --dataset deeploc2 --fold 0 --epochs 15 --seed 0 --loss focal --out runs/deeploc2/focal/fold0
	$(BIN)/protloc evaluate runs/deeploc2/cv/fold0 --split validation --out benchmarks/results/deeploc2-loss/cross-entropy
	$(BIN)/protloc evaluate runs/deeploc2/focal/fold0 --split validation --out benchmarks/results/deeploc2-loss/focal
	$(BIN)/python benchmarks/cross_evaluation.py --deeploc2 deeploc2 --multiloc multiloc $(foreach run,$(DEEPLOC2_FOLDS),--cv-run $(run))
	# the kingdom as an optional input: a fold-0 run with --kingdom against the cross-validation's fold-0 run, on
	# partition 0 (benchmarks/results/kingdom.md)
	$(BIN)/protloc train --dataset deeploc2 --fold 0 --epochs 15 --seed 0 --kingdom --out runs/deeploc2/kingdom/fold0
	$(BIN)/python benchmarks/keep_run.py runs/deeploc2/kingdom/fold0 benchmarks/weights/deeploc2-kingdom-fold0 --half
	$(BIN)/python benchmarks/kingdom.py --without benchmarks/weights/deeploc2-fold0 --with benchmarks/weights/deeploc2-kingdom-fold0
	# levers for the model, chosen on partition 4 after training on partitions 1-3, partition 0 never read
	# (docs/deeploc2.md, "Choosing on the modern data"; benchmarks/results/deeploc2-levers.md)
	$(BIN)/protloc train $(LEVER_RUN) --out runs/deeploc2/levers/baseline
	$(BIN)/protloc train $(LEVER_RUN) --terminal-windows 100 50 --out runs/deeploc2/levers/terminal
	$(BIN)/protloc train $(LEVER_RUN) --terminal-windows 100 50 --loss weighted --out runs/deeploc2/levers/terminal-weighted
	$(BIN)/python benchmarks/deeploc2_levers.py $(foreach lever,baseline terminal terminal-weighted,--run $(lever)=runs/deeploc2/levers/$(lever))

# The shipped MultiLoc presets (benchmarks/results/tuning.md): the search and its retrained candidates, then the chosen
# configuration on the whole training split (10 seeds: the ensemble; seed 0: the single preset), stored as float16,
# fusion fitted on fold-0 runs of the same configuration (the search's retraining for the single preset; with seeds 1
# and 2 for the ensemble), then the test split once; and profiles again (profiles-swissprot.md), from DeepLoc 2.0's sequences
# and the proteomes
CHOSEN = $$(python3 -c "import json; print(json.load(open('runs/tuning/chosen.json'))['name'])")
MULTILOC_SEEDS = 0 1 2 3 4 5 6 7 8 9
bench-multiloc: $(STAMP)
	$(BIN)/python benchmarks/tuner_search.py --tuner hyperband --epochs 30 --brackets 1 --fold 0 --families rlstm --out runs/tuning
	for seed in 1 2; do $(BIN)/protloc train --config runs/tuning/chosen.json --fold 0 --seed $$seed --out runs/multiloc/fold0/seed$$seed || exit 1; done
	for seed in $(MULTILOC_SEEDS); do $(BIN)/protloc train --config runs/tuning/chosen.json --seed $$seed --out runs/multiloc/all/seed$$seed || exit 1; done
	$(BIN)/protloc preset runs/multiloc/all/seed0 --out protloc/prediction/presets/multiloc --name multiloc --half --reference ../multiloc-paper/reference.fasta.gz --description "R-LSTM in the configuration a keras-tuner search chose (benchmarks/results/tuning.md), on MultiLoc's training split: 11 compartments"
	$(BIN)/protloc preset $(foreach seed,$(MULTILOC_SEEDS),runs/multiloc/all/seed$(seed)) --out protloc/prediction/presets/multiloc-ensemble --name multiloc-ensemble --half --reference ../multiloc-paper/reference.fasta.gz --description "Ensemble of 10 R-LSTMs (the multiloc preset's configuration, seeds 0-9, probabilities averaged) on MultiLoc's training split"
	chosen=$(CHOSEN) && $(BIN)/protloc fuse protloc/prediction/presets/multiloc --fold-run runs/tuning/fold0/$$chosen
	chosen=$(CHOSEN) && $(BIN)/protloc fuse protloc/prediction/presets/multiloc-ensemble --fold-run runs/tuning/fold0/$$chosen --fold-run runs/multiloc/fold0/seed1 --fold-run runs/multiloc/fold0/seed2
	for preset in multiloc multiloc-ensemble; do $(BIN)/protloc evaluate protloc/prediction/presets/$$preset --split test --card --out benchmarks/results/$$preset && $(BIN)/protloc evaluate protloc/prediction/presets/$$preset --split test --homology --card --out benchmarks/results/$$preset || exit 1; done
	$(BIN)/python benchmarks/deeploc2_fasta.py runs/deeploc2-sequences.fasta
	$(BIN)/protloc train --config runs/tuning/chosen.json --seed 0 --profile-db runs/deeploc2-sequences.fasta ../shared/data/proteomes --out runs/multiloc/profiles/seed0
	$(BIN)/python benchmarks/profiles.py --profile-db runs/deeploc2-sequences.fasta ../shared/data/proteomes --sequence-run runs/multiloc/all/seed0 --profile-run runs/multiloc/profiles/seed0 --results profiles-swissprot

# DeepLoc 2.0's file as R pipelines read it (needs R; Debian: apt-get install r-base-core r-bioc-isoformswitchanalyzer)
bench-interop: $(STAMP)
	$(BIN)/protloc predict protloc/prediction/presets/examples.fasta --format deeploc2 -o runs/interop/examples.csv
	Rscript benchmarks/deeploc2_in_r.R runs/interop/examples.csv > benchmarks/results/deeploc2-in-r.md
