# Book-page OCR: synthetic data, CRNN training, page OCR.
# Every target installs the pinned environment first if it is missing or stale.
# Override variables on the command line, e.g. `make synth N=200000 WORKERS=2`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

## PYTHON: interpreter used to create the virtual environment
PYTHON ?= python3.11
## VENV: virtual environment directory
VENV ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

## N: number of synthetic lines for `make synth`
N ?= 20000
## NAME: synthetic data set name: data/synth/$(NAME)
NAME ?= default
## SEED: random seed for `make synth` (empty: the config's)
SEED ?=
## WORKERS: parallel worker processes for data generation
WORKERS ?= 2
## SYNTH_CFG: synthetic data configuration
SYNTH_CFG ?= configs/synth.yaml
## TRAIN_CFG: training configuration
TRAIN_CFG ?= configs/train.yaml
## FINETUNE_CFG: fine-tuning configuration (starting checkpoint, folders of real line pairs, synthetic mix)
FINETUNE_CFG ?= configs/finetune.yaml
## FINETUNE_RUN: fine-tuning output directory
FINETUNE_RUN ?= runs/finetune
## PAGES_TRAIN: transcribed page folders that `make line-pairs` cuts line pairs from
PAGES_TRAIN ?= $(wildcard ../shared/devset/train/dp_*)
## STEPS: optimizer steps for `make train` or `make finetune` (empty: the config's)
STEPS ?=
## RUN: training output directory
RUN ?= runs/$(NAME)
## CHECKPOINT: checkpoint directory for `make export`
CHECKPOINT ?= checkpoints/default
## IMG: page image for `make eval`
IMG ?= ../shared/reference/20000-leagues-006.jpg
## GT: its transcription
GT ?= ../shared/reference/20000-leagues-006.gt.txt
## DEVSET: folder of real-page folders for `make eval-real` (each image with X.gt.txt beside it)
DEVSET ?= ../shared/devset/eval
## IN: what `make ocr-batch` reads: a folder tree, a list file, or PDFs and images (space-separated)
IN ?=
## OUT: where `make ocr-batch` writes its mirrored tree of outputs and manifest.jsonl
OUT ?= ocr-out
## FORMATS: output formats for `make ocr-batch` (space-separated: txt json hocr alto pdf)
FORMATS ?= txt
## BATCH_ARGS: more options for `make ocr-batch`, e.g. --workers 2, --ray, --ray-address auto
BATCH_ARGS ?=
## HOST: interface for `make serve`
HOST ?= 127.0.0.1
## PORT: port for `make serve`
PORT ?= 8000
## PYTEST_ARGS: extra arguments for pytest, e.g. -m "not slow"
PYTEST_ARGS ?= 

export NO_ALBUMENTATIONS_UPDATE := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help install demo test test-fast lint synth synth-preview train line-pairs finetune export eval eval-real bench docs clean serve ocr-batch

help: ## list targets and overridable variables
	@echo "Targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-14s %s\n", $$1, $$2}'
	@echo "Variables (override as VAR=value):"
	@awk '/^## [A-Z_]+: /{doc=$$0; sub(/^## [A-Z_]+: /,"",doc); next} /^[A-Z_]+ \?=/{if(doc!=""){v=$$0; sub(/ \?=.*/,"",v); d=$$0; sub(/^[A-Z_]+ \?= ?/,"",d); printf "  %-12s %s\n  %-12s   (default: %s)\n", v, doc, "", d}; doc=""}' $(MAKEFILE_LIST)

$(STAMP): requirements.txt requirements-nodeps.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or pass PYTHON=..." >&2; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) ## create $(VENV) and install the pinned packages (idempotent)

demo: $(STAMP) ## OCR a sample page the project renders, then the reference page if present
	$(PY) scripts/ocr_page.py --demo

synth: $(STAMP) ## generate N synthetic lines into data/synth/$(NAME) (shards, manifest, samples, preview)
	$(PY) scripts/make_synth.py --config $(SYNTH_CFG) --num-lines $(N) --name $(NAME) --workers $(WORKERS) $(if $(SEED),--seed $(SEED))

synth-preview: $(STAMP) ## write data/synth/$(NAME)/preview.png, a contact sheet of random lines
	$(PY) scripts/make_synth.py --config $(SYNTH_CFG) --name $(NAME) --preview-only

train: $(STAMP) ## train on data/synth/$(NAME); best checkpoint, log and curve in $(RUN)
	$(PY) scripts/train.py --config $(TRAIN_CFG) --data data/synth/$(NAME) --run-dir $(RUN) $(if $(STEPS),--steps $(STEPS))
	@echo "use it: $(VENV)/bin/crnn-ocr IMG --checkpoint $(RUN)/best (or copy it, model.onnx included, to checkpoints/default)"

line-pairs: $(STAMP) ## cut line pairs from the transcribed pages of $(PAGES_TRAIN) into data/real/dp_lines (for make finetune)
	@if [ -z "$(PAGES_TRAIN)" ]; then echo "skipping line-pairs: no page folders (PAGES_TRAIN)"; exit 0; fi; \
	$(PY) scripts/cut_line_pairs.py $(PAGES_TRAIN) --omits-first-line 'dp_*' --out data/real/dp_lines

finetune: $(STAMP) ## fine-tune the committed model on real line pairs + synthetic lines ($(FINETUNE_CFG)); best in $(FINETUNE_RUN)
	$(PY) scripts/finetune.py --config $(FINETUNE_CFG) --run-dir $(FINETUNE_RUN) $(if $(STEPS),--steps $(STEPS))
	@echo "use it: $(VENV)/bin/crnn-ocr IMG --checkpoint $(FINETUNE_RUN)/best"

export: $(STAMP) ## export $(CHECKPOINT)/model.keras to model.onnx (kept only if it reads the same on 200 lines)
	$(PY) scripts/export_model.py --checkpoint $(CHECKPOINT)

ocr-batch: $(STAMP) ## OCR IN (folders, list files, PDFs) into OUT: mirrored outputs in FORMATS + manifest.jsonl; resumable
	@if [ -z "$(IN)" ]; then echo "error: give IN=folder-or-files (and OUT=...); see scripts/ocr_batch.py --help" >&2; exit 2; fi
	$(PY) scripts/ocr_batch.py $(IN) --output-dir $(OUT) $(foreach f,$(FORMATS),--format $(f)) $(BATCH_ARGS)

serve: $(STAMP) ## start the web app on http://$(HOST):$(PORT) (upload, view, correct lines)
	$(PY) scripts/serve.py --host $(HOST) --port $(PORT)

eval: $(STAMP) ## OCR $(IMG) against $(GT): CER/WER table in eval/report.md, debug pictures in eval/debug
	@mkdir -p eval
	$(PY) scripts/ocr_page.py $(IMG) --reference $(GT) --report eval/report.md --debug-dir eval/debug > eval/ocr.txt

eval-real: $(STAMP) ## score every folder of $(DEVSET), tesseract beside us if installed: eval/real/{report.md,results.json,debug/}
	@if [ ! -d "$(DEVSET)" ]; then echo "skipping eval-real: no folder $(DEVSET)"; exit 0; fi; \
	$(PY) scripts/evaluate.py $$(find "$(DEVSET)" -mindepth 1 -maxdepth 1 -type d | sort) \
		--omits-first-line 'dp_*' --report eval/real/report.md --json eval/real/results.json --debug-dir eval/real/debug

bench: $(STAMP) ## speed benchmarks (synthesis, training, inference, layout, page OCR vs tesseract)
	$(PY) benchmarks/run_all.py

docs: $(STAMP) ## write docs/benchmarks.md from benchmarks/results.json
	$(PY) benchmarks/report.py

clean: ## remove generated data, runs and evaluation output (not the committed checkpoint)
	rm -rf data/synth/*/ runs eval

test: $(STAMP) ## run the whole test suite, slow tests included
	$(PY) -m pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

test-fast: $(STAMP) ## run the tests not marked slow
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: $(STAMP) ## ruff check
	$(VENV)/bin/ruff check .
