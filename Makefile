# Two commands for a fresh Debian machine: `make run` and `make test`.

# axe-selenium-python needs Python 3.12+; pyenv installs are found too.
PYTHON ?= $(shell for p in python3.12 python3.13 $$HOME/.pyenv/versions/3.12*/bin/python3 $$HOME/.pyenv/versions/3.13*/bin/python3 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
CHROMIUM := /usr/bin/chromium /usr/bin/chromedriver
ESPEAK := /usr/bin/espeak-ng
FONTS := /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
NGINX := /usr/sbin/nginx

.PHONY: run test venv dev translations compile assets lint format bench clean postgresql

run: $(VENV)/.installed compile assets
	$(BIN)/python run.py

# Two workers (pytest-xdist): most of the suite waits on a browser, a server or a throttled
# network, so two keep a 2-core machine busy. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: $(VENV)/.dev-installed compile assets $(CHROMIUM) $(ESPEAK) $(FONTS) $(NGINX) postgresql
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=25

$(VENV)/bin/python:
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (python3.12)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# Debian's Chromium and its driver, for the browser tests (Selenium Manager cannot download here).
$(CHROMIUM):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver

# Debian's espeak-ng (kk, ru and en voices): the read-aloud audio, and its tests.
$(ESPEAK):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q espeak-ng

# Debian's nginx: the tests run the browser suite through deploy/nginx.conf over HTTPS, with
# their own nginx on 127.0.0.1 (the package's own service is not needed, and harmless).
$(NGINX):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx

# Debian's PostgreSQL: the registry's tests start their own throwaway server from its
# initdb and pg_ctl (tests/postgres.py); the package's own cluster is not used.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; }

# The local fonts the fallback faces are measured against (tests/unit/test_stylesheet.py).
$(FONTS):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-liberation fonts-dejavu-core

# Extract texts from code and templates, merge them into the kk/ru/en catalogs, compile.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k plural:1,2 -k gettext_in:2 --no-location --sort-output -w 100 \
		--omit-header -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching -w 100 \
		--ignore-obsolete
	$(BIN)/python scripts/sync_en_catalog.py
	$(MAKE) compile

compile: $(VENV)/.installed
	$(BIN)/pybabel compile -d translations --statistics

# Minified CSS and JS in static/min/ (served when present; see scripts/build_assets.py).
assets: $(VENV)/.installed
	$(BIN)/python scripts/build_assets.py

lint: $(VENV)/.dev-installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) build *.egg-info translations/*/LC_MESSAGES/*.mo
