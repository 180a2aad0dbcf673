# edge-webui — the commands that matter: `make run`, `make check` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The wheel installed with its real dependencies into a fresh virtualenv (tests/test_wheel.py).
WHEEL_VENV := build/$(notdir $(VENV))-wheel
WHEEL_DIR := build/wheel-$(notdir $(VENV))
# Debian 13's Python, when pyenv has it: the suite runs a second time with it.
PYTHON_313 := $(lastword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.13*/bin/python))
PYTEST := $(BIN)/pytest -q -rs -p no:cacheprovider

.PHONY: run screenshots test check suite lint bench bench-deps system-deps clean wheel wheel-venv

# pip's notices go to a log, shown only when the install fails.
$(STAMP): setup.cfg pyproject.toml
	@echo "Installing edge-webui and its test tools into $(VENV) (a minute or two)..."
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -e '.[test]'; } \
		>$(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

# The address and the one-time setup password come last, in a box; then the server runs.
define RUN_BOX
from pathlib import Path
from webui import config
values = config.load()
host, port = values["BIND"]
password = Path(values["INSTANCE"], "initial-password")
lines = [f"Open  {'https' if values['TLS'] else 'http'}://{host}:{port}/"]
lines += ([f"Sign in as admin with the one-time password  {password.read_text().strip()}"]
          if password.exists() else ["Sign in with your own account: the setup password has been used."])
width = max(map(len, lines)) + 2
print("+" + "-" * width + "+", *(f"| {line:<{width - 1}}|" for line in lines),
      "+" + "-" * width + "+", "Ctrl+C stops the server.", sep="\n", flush=True)
endef
export RUN_BOX

run: $(STAMP)
	@$(BIN)/edge-webui init >$(VENV)/init.log 2>&1 || { cat $(VENV)/init.log; exit 1; }
	@$(BIN)/python -c "$$RUN_BOX"
	@$(BIN)/edge-webui serve >/dev/null

# The README's screenshots, docs/overview-laptop.png and docs/overview-phone.png: a fresh
# server on loopback, photographed by Chromium (tests/screenshots.py). Not part of make test.
screenshots: $(STAMP) system-deps
	$(BIN)/python tests/screenshots.py

# Installs the Debian packages the shell variable `missing` names when root; else names them.
apt_install = if [ -n "$$missing" ]; then \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "missing Debian packages:$$missing (run as root to install; $(1))"; \
	fi; \
fi

# Debian packages the tests use: chromium (browser tests), umockdev (udev device trees),
# prometheus (promtool checks of the shipped rules, and the engine for the scrape test).
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v umockdev-run >/dev/null || missing="$$missing umockdev"; \
	{ command -v promtool >/dev/null && [ -x /usr/bin/prometheus ]; } || missing="$$missing prometheus"; \
	$(call apt_install,those tests are skipped)

# Tests see only loopback: pytest runs in a new network namespace holding nothing but `lo`,
# and a mount namespace of its own, where fault tests mount small file systems.
# Everything that needs the package index (pip, apt-get) has run before, outside it.
define offline
@if [ "$$(id -u)" = 0 ] && command -v ip >/dev/null && unshare --net --mount true 2>/dev/null; then \
	EDGE_TEST_NETNS=loopback-only EDGE_TEST_PRIVATE_MOUNTS=1 \
		unshare --net --mount sh -c 'ip link set lo up && exec "$$@"' sh $(1); \
else \
	echo "no network namespace (needs root, ip and unshare): tests use the host's network"; \
	$(1); \
fi
endef

# The whole suite (lint, unit, app, wheel and end-to-end tests), on every Python there is.
test: lint
	$(MAKE) --no-print-directory suite
ifneq ($(PYTHON_313),)
	$(MAKE) --no-print-directory suite PYTHON=$(PYTHON_313) VENV=.venv-3.13
else
	@echo "no Python 3.13 under pyenv: the suite ran with $$($(PYTHON) --version) only"
endif

suite: $(STAMP) system-deps wheel-venv
	$(call offline,env TEST_WHEEL_VENV=$(WHEEL_VENV) $(PYTEST))

# The quick inner loop: lint, unit and app tests; no browser, no wheel; one Python.
check: lint
	$(call offline,$(PYTEST) -m "not e2e")

lint: $(STAMP)
	$(BIN)/ruff check .

# The peers the benchmarks measure against: wrk (load), sos (support package), zip.
bench-deps:
	@missing=""; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v sos >/dev/null || missing="$$missing sosreport"; \
	command -v zip >/dev/null || missing="$$missing zip"; \
	$(call apt_install,those figures are skipped)

# Every benchmark runs in the same loopback-only namespace as the tests: nothing leaves the
# machine.
bench: $(STAMP) bench-deps
	$(call offline,$(BIN)/python -m bench)

wheel: $(STAMP)
	$(BIN)/python -m build --wheel --outdir dist .

wheel-venv: $(STAMP)
	rm -rf $(WHEEL_VENV) $(WHEEL_DIR)
	$(BIN)/python -m build --wheel --outdir $(WHEEL_DIR) . >/dev/null
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install --quiet --disable-pip-version-check $(WHEEL_DIR)/*.whl

clean:
	rm -rf .venv .venv-3.13 build dist *.egg-info .pytest_cache
