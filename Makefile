# kumo: a private cloud in one coherent codebase. `make help` lists the targets.
SHELL := /bin/bash
# Found when the recipe runs (after `build`), not when make reads this file: a fresh checkout has no dist/.
UNIT_TESTS = $$(find packages/*/dist -name '*.test.js' -not -path '*/node_modules/*' | sort)
E2E_TESTS = $$(find test/e2e/dist -name '*.test.js' | sort)
KUMO_HOME ?= /var/lib/kumo
export KUMO_HOME

.PHONY: help deps build up down test unit e2e lint fmt bench install clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json ## install npm dependencies (npm ci)

build: deps ## compile TypeScript and build the dashboard
	npx tsc -b
	@if [ -f packages/web/vite.config.ts ]; then npm run -w @kumo/web build --silent; fi

up: build ## build and start the cloud-in-a-box (server + hosts); prints where the API and dashboard are
	./bin/kumo up $(UP_FLAGS)
	scripts/images/upload-images.sh

down: ## stop what `make up` started (data stays; `make down PURGE=1` removes it)
	./bin/kumo down $(if $(PURGE),--purge,)

test: build ## run every test (unit, integration, e2e) with node's test runner
	node --test --test-concurrency=2 $(UNIT_TESTS)
	@# end-to-end files each bring up a whole cloud: one at a time on 2 cores
	node --test --test-concurrency=1 $(E2E_TESTS)

unit: build ## run the tests of one package: make unit PKG=server
	node --test $$(find packages/$(PKG)/dist -name '*.test.js' | sort)

# Every check runs even when an earlier one fails, so one pass shows everything; eslint's type-aware rules read
# the packages' dist/*.d.ts, which tsc -b writes first.
lint: deps ## types (tsc -b), eslint (bugs, layering, lines <= 140 columns), formatting (prettier --check)
	@rc=0; \
	echo "== tsc -b"; npx tsc -b || rc=1; \
	echo "== eslint"; npx eslint --max-warnings 0 . || rc=1; \
	echo "== prettier --check"; npx prettier --check --cache --log-level warn . || rc=1; \
	exit $$rc

fmt: deps ## format every file with prettier (lines prettier cannot shorten are left to you: see make lint)
	npx prettier --write --cache --log-level warn .

bench: build ## run the benchmarks (they print figures beside same-run baselines)
	@for b in bench/dist/*.js; do echo "== $$b"; node $$b; done

install: build ## link `kumo` onto PATH (/usr/local/bin)
	ln -sf $(CURDIR)/bin/kumo /usr/local/bin/kumo

clean: ## remove build output
	rm -rf packages/*/dist test/e2e/dist bench/dist
