# Aviary — see README.md for the two commands that matter (make demo, make test).
SHELL := /bin/bash
GO ?= go
BIN := bin
LOCAL := .local
KUBECONFIG_LOCAL := $(abspath $(LOCAL))/kubeconfig
CONTROLLER_GEN := $(GO) tool controller-gen
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/aviary-rollouts/aviary/internal/version.Version=$(VERSION)

.PHONY: all demo build install generate manifests test lint cluster-up cluster-down run bench-scale bench-analysis bench-traffic clean

all: build

# The headline scenario on the local cluster (README). DEMO_REAL_TIME=1 keeps
# the seed's 2-minute pauses; DEMO_KEEP=1 leaves everything running.
demo: ## build what is missing, start the local cluster, play seed 01's success and failure paths
	@echo "demo: building bin/ (a first build compiles the dependencies for a few minutes; each package is listed)"
	@$(MAKE) --no-print-directory build BUILDFLAGS=-v
	@echo "demo: starting the local control plane (a first start builds Kubernetes from the Go module proxy, about ten minutes, with progress)"
	@$(MAKE) --no-print-directory cluster-up
	@$(LOCAL)/bin/kubectl --kubeconfig $(KUBECONFIG_LOCAL) apply --server-side -f config/crd >/dev/null
	@status=0; $(BIN)/aviary-demo --kubeconfig $(KUBECONFIG_LOCAL) --bin $(BIN) || status=$$?; \
	if [ "$(DEMO_KEEP)" != 1 ]; then echo "demo: stopping the local control plane"; $(MAKE) --no-print-directory cluster-down >/dev/null 2>&1; fi; \
	exit $$status

build: ## bin/: aviary-controller, kubectl-argo-rollouts, aviary-traffic-simulator, aviary-demo
	$(GO) build $(BUILDFLAGS) -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/aviary-controller ./cmd/kubectl-argo-rollouts ./cmd/aviary-traffic-simulator ./cmd/aviary-demo

install: ## put kubectl-argo-rollouts on PATH (into $(go env GOPATH)/bin, or GOBIN), so `kubectl argo rollouts` works
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/kubectl-argo-rollouts

generate: ## deepcopy functions and CRDs from the api/ markers
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd:crdVersions=v1,maxDescLen=0 paths=./api/... output:crd:artifacts:config=config/crd
	$(GO) run ./api/v1alpha1/internal/crdpatch config/crd

# IMAGE=… and DASHBOARD_IMAGE=… set the images of dist/ (the bases keep the defaults).
manifests: ## manifests/crds from config/crd; dist/install.yaml, namespace-install.yaml, dashboard-install.yaml built from manifests/ (kustomize)
	$(GO) run ./hack/manifests -out dist $(if $(IMAGE),-image $(IMAGE)) $(if $(DASHBOARD_IMAGE),-dashboard-image $(DASHBOARD_IMAGE))

lint:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.local/*')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	cd hack/localcluster && $(GO) vet . && test -z "$$(gofmt -l .)"
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

cluster-up: ## start (or reuse) the local control plane; writes .local/kubeconfig
	cd hack/localcluster && $(GO) run . up --dir $(abspath $(LOCAL))

cluster-down:
	cd hack/localcluster && $(GO) run . down --dir $(abspath $(LOCAL))

run: build cluster-up ## the controller in the foreground against the local cluster
	$(LOCAL)/bin/kubectl --kubeconfig $(KUBECONFIG_LOCAL) apply --server-side -f config/crd
	$(BIN)/aviary-controller --kubeconfig $(KUBECONFIG_LOCAL) --leader-elect=false

test: lint build ## every test: lint, unit, drift, end-to-end on the local cluster
	$(GO) test ./... -count=1 -timeout 40m

N ?= 200
bench-scale: build cluster-up ## the scale benchmark (bench/README.md); N=1000 for the large run
	$(GO) run ./bench/scale -n $(N) -kubeconfig $(KUBECONFIG_LOCAL) -controller $(BIN)/aviary-controller

bench-analysis: build cluster-up ## the AnalysisRun benchmark (bench/README.md)
	$(GO) run ./bench/analysis -n $(or $(RUNS),2000) -kubeconfig $(KUBECONFIG_LOCAL) -controller $(BIN)/aviary-controller

bench-traffic: build cluster-up ## the NGINX traffic-routing benchmark (bench/README.md); 500 rollouts unless N=… is given
	$(GO) run ./bench/traffic -n $(if $(filter command line environment,$(origin N)),$(N),500) -kubeconfig $(KUBECONFIG_LOCAL) -controller $(BIN)/aviary-controller

clean:
	rm -rf $(BIN) dist
