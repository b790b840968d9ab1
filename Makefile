# ads-operator developer entry points. `make help` lists them.
# Every target installs what it needs: a fresh clone needs only Python 3.11+, Go and openssl.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST := $(PY) -m pytest
# The local control plane's binaries (kube-apiserver, etcd, kubectl, helm), cached by version.
TOOLS_BIN ?= $(HOME)/.cache/ads-operator/bin
export ADS_OPERATOR_TOOLS_BIN := $(TOOLS_BIN)
# checkov (chart-lint) lives in its own virtualenv: its pins (packaging, boto3, ...) would
# fight the operator's in $(VENV).
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_VERSION := 3.3.30

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@echo ">> creating $(VENV) and installing ads-operator with test and lint extras"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	$(PY) -m pip check
	@touch $@

.PHONY: venv
venv: $(STAMP) ## create the virtualenv and install the package (editable)

.PHONY: tools
tools: ## build (or reuse) kube-apiserver, etcd, kubectl and helm
	hack/build-tools

.PHONY: node-tools
node-tools: ## the node's parts too: kubelet, scheduler, controller-manager; containerd + runc (apt-get)
	hack/build-tools --node
	hack/controlplane install-runtime

# The operator image's tag (default: the package version); `make image IMAGE_TAG=x`.
IMAGE_TAG ?=

.PHONY: image
image: ## build the operator image from the Dockerfile (buildah) into dist/image/ads-operator.oci.tar
	hack/build-image $(if $(IMAGE_TAG),--tag $(IMAGE_TAG))

.PHONY: lint
lint: $(STAMP) ## ruff (lint + format check), mypy --strict, import-linter
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

.PHONY: crds
crds: $(STAMP) ## generate crds/, the chart's copy and its settings schema (models, settings)
	$(VENV)/bin/ads-operator crds

.PHONY: test-unit
test-unit: $(STAMP) ## unit tier: pure functions, schemas, translation; no network
	$(PYTEST) tests/unit

.PHONY: test-emulator
test-emulator: $(STAMP) ## emulator tier: the real oci SDK against oci_emulator over HTTP
	$(PYTEST) tests/emulator

.PHONY: test-e2e
test-e2e: $(STAMP) tools $(CHECKOV_STAMP) ## e2e tier: real kube-apiserver + etcd, emulator, operator, kubectl, helm
	$(PYTEST) tests/e2e

.PHONY: test-cluster
test-cluster: $(STAMP) node-tools image ## cluster tier: a real node (kubelet, containerd, runc) runs pods and the chart
	$(PYTEST) tests/cluster

.PHONY: test
test: $(STAMP) tools node-tools image $(CHECKOV_STAMP) ## every tier (tests/cluster included), plus `pip check`
	$(PY) -m pip check
	$(PY) hack/runtests.py

$(CHECKOV_STAMP):
	@echo ">> creating $(CHECKOV_VENV) with checkov $(CHECKOV_VERSION)"
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	$(CHECKOV_VENV)/bin/python -m pip check
	@touch $@

.PHONY: bundle
bundle: tools ## render the Helm chart into dist/install.yaml (for kubectl apply -f)
	hack/bundle

.PHONY: chart-lint
chart-lint: $(STAMP) tools $(CHECKOV_STAMP) ## helm lint, checkov on the rendered chart, hadolint on the Dockerfile
	$(PYTEST) tests/e2e/test_chart_static.py tests/unit/packaging/test_dockerfile.py

.PHONY: demo
demo: $(STAMP) tools ## local cluster + emulator + operator; runs the hello-world job to completion
	hack/demo up

.PHONY: demo-down
demo-down: ## stop what `make demo` started
	hack/demo down

.PHONY: bench
bench: $(STAMP) tools ## measurements, N=10 and 300 (not part of `make test`); BENCH_ARGS="--runs 1000"
	$(PY) -m bench $(BENCH_ARGS)

.PHONY: clean
clean: ## remove the virtualenv, caches and build output (keeps the cached Go binaries)
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
