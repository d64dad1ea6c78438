# Two commands do everything: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# `make run` installs what running needs; `make test` adds the tools that check it. Both
# take the versions pinned in constraints.txt (the holidays version decides the calendar).
RUNTIME := $(VENV)/.installed-run
DEV     := $(VENV)/.installed-dev
PIP     := $(BIN)/pip install --quiet -c constraints.txt
# Root installs Debian packages directly; anyone else through sudo. apt waits up to five
# minutes for another install to release the package lock instead of failing at once.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=300

.PHONY: run test setup browser lint typecheck contracts pytest test-dates rules-doc clean

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP) -e .
	@touch $(RUNTIME)

$(DEV): pyproject.toml constraints.txt $(RUNTIME)
	$(PIP) -e '.[dev]'
	@touch $(DEV)

setup: $(DEV)

# With WUYE_TOKEN (environment or .env) the bot talks to Telegram; without it, to the
# local sandbox at http://127.0.0.1:8080/ with the demo estate.
run: $(RUNTIME)
	$(BIN)/python -m bot start

# The browser test drives Debian's Chromium (never a downloaded browser) and needs a CJK
# font to render Chinese; both come from Debian's packages.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'WenQuanYi' \
	    || ! fc-list 2>/dev/null | grep -qi 'Noto Color Emoji'; then \
	  echo "Installing Chromium, a CJK font and an emoji font from Debian's packages…"; \
	  $(APT) update -qq && \
	  $(APT) install -y -qq chromium fonts-wqy-microhei fonts-noto-color-emoji >/dev/null; \
	fi

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV)
	$(BIN)/mypy

# The package table (README, How it is built) as a test: who may import whom.
contracts: $(DEV)
	$(BIN)/lint-imports --no-cache

pytest: $(DEV) browser
	$(BIN)/python -m pytest -q

test: lint typecheck contracts pytest

# The whole suite with the machine's date moved (libfaketime moves the bot and sandbox
# processes too): nothing may depend on the day it runs. DATES overrides the days tried.
DATES ?= 2027-06-15 2030-03-04
test-dates: $(DEV) browser
	@command -v faketime >/dev/null || { $(APT) update -qq && $(APT) install -y -qq faketime >/dev/null; }
	@for day in $(DATES); do \
	  echo "== pytest with the date at $$day"; \
	  faketime "$$day 10:00:00" $(BIN)/python -m pytest -q -p no:cacheprovider || exit 1; \
	done

# docs/rules.md, generated from the source: where each rule is enforced, asked and tested
# (a test fails when it is stale).
rules-doc: $(RUNTIME)
	$(BIN)/python -m bot rules-doc

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
