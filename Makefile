# Set-up and the two entry points. Works on a fresh machine with nothing but Python 3.10+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean ocr-engine

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch and torchvision first and pinned, so pip takes the builds on this machine's disk.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The tesseract program for the OCR families (LayoutLMv2/v3 with apply_ocr): installed with apt where this is root
# on a Debian-like system, skipped quietly otherwise (the OCR tests then skip, saying how to install it).
ocr-engine:
	@command -v tesseract >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null; } || true; }

install: $(STAMP) ocr-engine

demo: $(STAMP)
	$(BIN)/pixelprep run examples/images --model examples/clip-vit-base-patch32 --out demo-out --shard-size 2
	$(BIN)/pixelprep explain examples/images/photo_rgb_640x427.jpg --model examples/clip-vit-base-patch32 --out demo-out/explain.png

test: $(STAMP) ocr-engine
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests

clean:
	rm -rf $(VENV) demo-out
