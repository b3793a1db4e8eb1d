# The two commands a new user types: `make test` and `make demo`. Both build .venv on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# Torch first, from the pinned builds, so nothing later pulls a different one.
TORCH   := torch==2.14.1 torchvision==0.29.1
# One intra-op thread per process: nbdev_test runs two notebooks at a time, and on two cores more threads oversubscribe
# (CPU training several times slower) and change float summation order, so stored numbers would not reproduce.
# The notebooks rely on this and set no thread count themselves; `make test THREADS=4` overrides it.
THREADS ?= 1
SERIAL  := OMP_NUM_THREADS=$(THREADS) MKL_NUM_THREADS=$(THREADS)
# Experiments that run independent jobs (folds, models) start WORKERS one-thread processes.
WORKERS ?= 2

.PHONY: help test sweep-perturbation classifier-specificity reproduce-explain-oct reproduce-explain-densenet reproduce-explain-oct-densenet test-slow demo docs check-docs readme sync bench gpu-check gpu-dry-run reproduce-explain reproduce-explain-distractors reproduce-explain-seed1 reproduce-crt reproduce-crt-own reproduce-crt-scar reproduce-crt-curve reproduce-vae-curve clean-venv

$(STAMP): settings.ini setup.py
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# The tutorials keep their runs' checkpoints here (`core.run_folder`, keyed by the code and the settings): `make test`
# empties it and trains, and `make docs` right after it on the same code resumes from it instead of training again.
RUN_CACHE := IVAE_RUN_CACHE=$(CURDIR)/_cache/runs

## List the targets with what each does.
help:
	@awk '/^## /{if(!d)d=substr($$0,4); next} /^[a-z][a-z0-9-]*:/{if(d){split($$1,t,":"); printf "  make %-31s %s\n", t[1], d}; d=""} !/^## /{if(!/^[a-z]/)d=d}' $(MAKEFILE_LIST)

## Run every notebook as a test (what CI runs).
test: $(STAMP)
	rm -rf _cache/runs
	$(SERIAL) $(RUN_CACHE) $(BIN)/nbdev_test --n_workers 2 --timing

## Also run the minutes-long cells marked `#| slow`.
test-slow: $(STAMP)
	rm -rf _cache/runs
	$(SERIAL) $(RUN_CACHE) $(BIN)/nbdev_test --n_workers 2 --timing --flags slow

## Both pipelines end to end on the synthetic data, at small scale: demo_out/report.html and metrics.json.
demo: $(STAMP)
	$(BIN)/ivae demo --scale small --out demo_out

## The explanation benchmark at the paper's lesion ranges on CPU (128 px, every fold): bench/results/explain_benchmark_cpu_full.*
## Folds run WORKERS at a time; resumable: work files stay in runs/explain_benchmark.
reproduce-explain: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark explain --scale cpu_full --path bench/results --work runs/explain_benchmark --workers $(WORKERS)

## Hyperintense lesions with two label-free hypointense distractors on every image, and the same lesions without them (the control):
## bench/results/explain_benchmark_cpu_distractors.* and explain_benchmark_cpu_hyper.*
reproduce-explain-distractors: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark explain --scale cpu_distractors --path bench/results --work runs/explain_benchmark_distractors --workers $(WORKERS)
	$(SERIAL) $(BIN)/ivae benchmark explain --scale cpu_hyper --path bench/results --work runs/explain_benchmark_hyper --workers $(WORKERS)

## The benchmark on simulated OCT (IRF, SRF, PED; 128 px, about 15-20 min projected): bench/results/explain_benchmark_oct_cpu.*
reproduce-explain-oct: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark explain --scale oct_cpu --path bench/results --work runs/explain_benchmark_oct --workers $(WORKERS)

## The benchmark with the paper's classifier, DenseNet121 from scratch, masks at 300 iterations, the healthy VAE the curve measured best
## (128 px, 48 subjects; seed 1, since that VAE and the mask defaults were chosen on seed 0; 36 min with 2 workers): bench/results/explain_benchmark_cpu_densenet.*
reproduce-explain-densenet: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark explain --scale cpu_densenet --path bench/results --work runs/explain_benchmark_densenet --seed 1 --workers $(WORKERS)

## The same with OCT scans (60 patients of 4; seed 1; 44 min with 2 workers): bench/results/explain_benchmark_oct_densenet.*
reproduce-explain-oct-densenet: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark explain --scale oct_densenet --path bench/results --work runs/explain_benchmark_oct_densenet --seed 1 --workers $(WORKERS)

## Perturbation settings (n_iter x mask_scale x temperature) swept on the cpu_full benchmark's own models, chosen on folds 0-1 and
## confirmed on folds 2-3 (after `make reproduce-explain`; about 12 min): bench/results/perturbation_sweep.json, which 06_explain reads.
sweep-perturbation: $(STAMP)
	$(SERIAL) $(BIN)/python bench/sweep_perturbation.py --work runs/explain_benchmark

## Why healthy slices keep a mean P(lesion) above 0.2: the cpu_full classifiers' probabilities by lesion conspicuity (after
## `make reproduce-explain`; about a minute): bench/results/classifier_specificity.json, which the results page reads.
classifier-specificity: $(STAMP)
	$(SERIAL) $(BIN)/python bench/classifier_specificity.py --work runs/explain_benchmark

## The CRT experiment: nbs/images/crt_results.json and its figures, which the README and the CRT tutorial read.
## The folds' models train WORKERS at a time, one process per core; a rerun with the same folder loads the models.
## `make reproduce-crt SCALE=small` takes 5.8 min on one idle AMD EPYC core; medium's wall time is in the results file.
SCALE   ?= medium
reproduce-crt: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark crt --scale $(SCALE) --path runs/crt_$(SCALE) --out nbs/images --workers $(WORKERS)

## `ivae crt train` at medium scale on simulated cohorts (segmentations only), scored by `ivae crt evaluate` on an independent test cohort:
## nbs/images/crt_own_evaluation.json (the results page reads it): CRT BACC beside the experiment's concept arm, and septal flash's per-patient effect
## against the simulator's truth. Training about 7 min on 2 cores (the simulation and evaluation a few more).
CRT_OWN := runs/crt_own
SIM_MEDIUM := --size 64 --n-frames 25 --quiet
reproduce-crt-own: $(STAMP)
	test -d $(CRT_OWN)/train || ($(BIN)/ivae simulate cardiac --out $(CRT_OWN)/train --n 267 --seed 10 $(SIM_MEDIUM) && rm -r $(CRT_OWN)/train/images)
	test -d $(CRT_OWN)/pretrain || ($(BIN)/ivae simulate cardiac --out $(CRT_OWN)/pretrain --n 2000 --seed 11 $(SIM_MEDIUM) && rm -r $(CRT_OWN)/pretrain/images)
	test -d $(CRT_OWN)/test || ($(BIN)/ivae simulate cardiac --out $(CRT_OWN)/test --n 400 --seed 12 $(SIM_MEDIUM) && rm -r $(CRT_OWN)/test/images)
	$(SERIAL) $(BIN)/ivae crt train --scale medium --data $(CRT_OWN)/train --pretrain-data $(CRT_OWN)/pretrain --valid-pct 0.05 --out $(CRT_OWN)/run
	$(SERIAL) $(BIN)/ivae crt evaluate --data $(CRT_OWN)/test --model $(CRT_OWN)/run --out $(CRT_OWN)/eval
	cp $(CRT_OWN)/eval/evaluation.json nbs/images/crt_own_evaluation.json

## Does a myocardium-weighted reconstruction loss, or longer pretraining, keep the scar? nbs/images/crt_scar_ablation.json (reuses reproduce-crt's U-Net).
reproduce-crt-scar: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark crt-scar --scale $(SCALE) --path runs/crt_$(SCALE) --out nbs/images

## Would more CRT subjects close the learned models' gap to the oracle? nbs/images/crt_learning_curve.json and .png: one fixed test set,
## nested training sets, models trained WORKERS at a time; its own folder (a larger cohort than the experiment's), resumable.
reproduce-crt-curve: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark crt-curve --scale $(SCALE) --path runs/crt_$(SCALE)_curve --out nbs/images --workers $(WORKERS)

## Is the explanation benchmark's healthy VAE trained enough? The cpu_full VAE recipe trained for several budgets (one one-cycle run each) on
## thousands of generated healthy slices: fill quality, in-brain AUC and validation loss against Adam steps, beside the benchmark's own VAE,
## the Blur fill and the oracle: bench/results/healthy_vae_curve.json and nbs/images/healthy_vae_curve.png. One process; resumable.
reproduce-vae-curve: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark vae-curve --scale cpu_full --path runs/healthy_vae_curve --out bench/results --figure nbs/images/healthy_vae_curve.png

## Export notebooks to the library and strip notebook noise.
sync: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean

## README.md from nbs/index.ipynb (offline; nbdev_readme needs quarto).
readme: $(STAMP)
	$(BIN)/python tools/build_readme.py

## Docs site in _docs/ from executed copies of the notebooks (_exec/; the notebooks in git carry no outputs):
## nbdev_docs with quarto, otherwise the offline builder (which installs and downloads nothing). After `make test` on the same code, the tutorials resume from its cache (`_cache/runs`).
docs: $(STAMP)
	@if command -v quarto >/dev/null 2>&1; then $(SERIAL) $(RUN_CACHE) $(BIN)/python tools/run_notebook.py && $(SERIAL) $(BIN)/nbdev_docs --path _exec; \
	else $(SERIAL) $(RUN_CACHE) $(BIN)/python tools/build_docs.py; fi

## Open the built site in headless Chromium, screenshot it, check titles, API names and links.
check-docs: $(STAMP)
	$(BIN)/python tools/check_docs.py --self-test
	$(BIN)/python tools/check_docs.py

## Speed benchmarks (ratios measured side by side).
bench: $(STAMP)
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

## On a GPU machine: install (offline-capable) and measure the paper-scale figures into bench/results/ (tools/gpu_check.sh).
gpu-check:
	tools/gpu_check.sh

## The same code paths on CPU at tiny sizes, results in a temporary folder (CI runs this).
gpu-dry-run: $(STAMP)
	$(SERIAL) tools/gpu_check.sh --dry-run

clean-venv:
	rm -rf $(VENV)

## The CPU benchmark (and the small one) with a second seed: bench/results/seed1/, which the explanation tutorial and the README compare with seed 0.
reproduce-explain-seed1: $(STAMP)
	$(SERIAL) $(BIN)/ivae benchmark explain --scale cpu_full --path bench/results/seed1 --work runs/explain_benchmark_full_seed1 --seed 1 --workers $(WORKERS)
	$(SERIAL) $(BIN)/ivae benchmark explain --scale small --path bench/results/seed1 --work runs/explain_benchmark_seed1 --seed 1
