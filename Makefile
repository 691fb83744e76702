# Aviary — see README.md for the two commands that matter (make demo, make test).
SHELL := /bin/bash
GO ?= go
BIN := bin
LOCAL := .local
KUBECONFIG_LOCAL := $(abspath $(LOCAL))/kubeconfig
CONTROLLER_GEN := $(GO) tool controller-gen
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# `version` prints the commit and build date too. The build date defaults to
# the commit's (UTC), so rebuilding a commit gives the same binaries and
# image digests; BUILD_DATE=… overrides it.
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE := $(or $(BUILD_DATE),$(shell TZ=UTC git show -s --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd HEAD 2>/dev/null),$(shell date -u +%Y-%m-%dT%H:%M:%SZ))
VERSION_PKG := github.com/aviary-rollouts/aviary/internal/version
LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT) -X $(VERSION_PKG).BuildDate=$(BUILD_DATE)
RELEASE_STAMP = -version $(VERSION) -commit $(COMMIT) -created $(BUILD_DATE) -ldflags "$(LDFLAGS)"

.PHONY: all demo prereqs-test build install generate manifests test unit lint cluster-up cluster-crds cluster-down run bench-scale bench-soak bench-analysis bench-traffic clean image image-push dist

all: build

# The headline scenario on the local cluster (README). DEMO_REAL_TIME=1 keeps
# the seed's 2-minute pauses; DEMO_KEEP=1 leaves everything running.
demo: ## build what is missing, start the local cluster, play seed 01's success and failure paths
	@$(GO) run ./internal/localprom/prereqs demo
	@echo "demo: building bin/ (a first build compiles the dependencies for a few minutes; each package is listed)"
	@$(MAKE) --no-print-directory build BUILDFLAGS=-v
	@echo "demo: starting the local control plane (a first start builds Kubernetes from the Go module proxy, about ten minutes, with progress)"
	@$(MAKE) --no-print-directory cluster-up
	@$(LOCAL)/bin/kubectl --kubeconfig $(KUBECONFIG_LOCAL) apply --server-side -f config/crd >/dev/null
	@status=0; $(BIN)/aviary-demo --kubeconfig $(KUBECONFIG_LOCAL) --bin $(BIN) || status=$$?; \
	if [ "$(DEMO_KEEP)" != 1 ]; then echo "demo: stopping the local control plane"; $(MAKE) --no-print-directory cluster-down >/dev/null 2>&1; fi; \
	exit $$status

# Static, as the release image's (hack/release): a cgo build also maps libc
# and the dynamic loader, 1.5-1.9 MiB more resident in the controller
# (docs/architecture.md, "Memory"), which the benchmarks would count.
build: ## bin/: aviary-controller, kubectl-argo-rollouts, aviary-traffic-simulator, aviary-demo
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/aviary-controller ./cmd/kubectl-argo-rollouts ./cmd/aviary-traffic-simulator ./cmd/aviary-demo

install: ## put kubectl-argo-rollouts on PATH (into $(go env GOPATH)/bin, or GOBIN), so `kubectl argo rollouts` works
	CGO_ENABLED=0 $(GO) install -ldflags "$(LDFLAGS)" ./cmd/kubectl-argo-rollouts

generate: ## deepcopy functions and CRDs from the api/ markers
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd:crdVersions=v1,maxDescLen=0 paths=./api/... output:crd:artifacts:config=config/crd
	$(GO) run ./api/v1alpha1/internal/crdpatch config/crd

# IMAGE=… and DASHBOARD_IMAGE=… set the images of dist/ (the bases keep the defaults).
manifests: ## manifests/crds and charts/aviary/files/crds from config/crd; dist/install.yaml, namespace-install.yaml, dashboard-install.yaml built from manifests/ (kustomize)
	$(GO) run ./hack/manifests -out dist $(if $(IMAGE),-image $(IMAGE)) $(if $(DASHBOARD_IMAGE),-dashboard-image $(DASHBOARD_IMAGE))

# Images and release binaries, built without a Docker daemon (hack/release,
# go-containerregistry): static, -trimpath, stamped like `make build`.
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
image: ## OCI images aviary-controller and kubectl-argo-rollouts (IMAGE_PLATFORMS, an index of linux/amd64 and linux/arm64) as OCI layouts in bin/image/<name>
	$(GO) run ./hack/release image -out $(BIN)/image -platforms $(IMAGE_PLATFORMS) $(RELEASE_STAMP)

# REGISTRY=ghcr.io/you pushes to ghcr.io/you/<name>:<version>; IMAGE_TAGS=v0.1.0,latest picks the tags.
image-push: ## build the images, then push them to $(REGISTRY)/<name> with the docker config's credentials (docker login, credential helpers)
	@test -n "$(REGISTRY)" || { echo "image-push: set REGISTRY, e.g. make image-push REGISTRY=ghcr.io/you"; exit 2; }
	@$(MAKE) --no-print-directory image
	$(GO) run ./hack/release push -layout $(BIN)/image -registry $(REGISTRY) $(if $(IMAGE_TAGS),-tags $(IMAGE_TAGS))

dist: ## kubectl-argo-rollouts for linux, darwin and windows on amd64 and arm64 into bin/dist, with SHA256SUMS
	$(GO) run ./hack/release dist -out $(BIN)/dist $(RELEASE_STAMP)

lint:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.local/*')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	cd hack/localcluster && $(GO) vet . && test -z "$$(gofmt -l .)"
	cd test/plugins/metric && $(GO) vet .
	cd test/plugins/trafficrouter && $(GO) vet .
	cd test/plugins/step && $(GO) vet .
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

cluster-up: ## start (or reuse) the local control plane; writes .local/kubeconfig
	cd hack/localcluster && $(GO) run . up --dir $(abspath $(LOCAL))

cluster-down:
	cd hack/localcluster && $(GO) run . down --dir $(abspath $(LOCAL))

# cluster-crds installs the argoproj.io CRDs on the local cluster, which the
# controller waits for (the tests install their own).
cluster-crds: cluster-up
	$(LOCAL)/bin/kubectl --kubeconfig $(KUBECONFIG_LOCAL) apply --server-side -f config/crd

run: build cluster-crds ## the controller in the foreground against the local cluster
	$(BIN)/aviary-controller --kubeconfig $(KUBECONFIG_LOCAL) --leader-elect=false

# prereqs-test checks, in seconds and before lint and the builds, what make
# test needs (Chromium and tmux; Prometheus, built into the cache if missing).
test: prereqs-test lint build ## every test: lint, unit, drift, end-to-end on the local cluster
	cd hack/localcluster && $(GO) test -count=1 -timeout 5m .
	$(GO) test ./... -count=1 -timeout 40m

prereqs-test:
	@$(GO) run ./internal/localprom/prereqs test

# The model-based fuzzer (test/model; docs/fuzzing.md) for FUZZ_TIME from a
# fresh base seed (FUZZ_SEED=… repeats a run), then the Go native fuzz
# targets through hack/fuzz-go.sh, FUZZ_GO_TIME each, when that script is
# there. Both print what they ran; a violation is shrunk and saved.
FUZZ_TIME ?= 10m
FUZZ_GO_TIME ?= 1m
.PHONY: fuzz
fuzz: ## the Rollout model fuzzer for FUZZ_TIME (default 10m), then hack/fuzz-go.sh if present
	$(GO) test ./test/model -run '^TestModel$$' -count=1 -v -timeout 0 -model.duration=$(FUZZ_TIME) -model.base=$(or $(FUZZ_SEED),$$(date +%s)) -model.save=testdata/regressions
	@if test -x hack/fuzz-go.sh; then FUZZTIME=$(FUZZ_GO_TIME) hack/fuzz-go.sh; else echo "fuzz: no hack/fuzz-go.sh, so no Go native fuzz targets run"; fi

# unit is the fast loop: every package's tests but the end-to-end suites
# (test/e2e), the benchmarks (bench) and internal/localprom (a real
# Prometheus), with -short skipping what shells out to build (the CRD drift
# check, the cross-compiled dist, linking the controller), and without
# test/model's TestModel, whose 2000 random sequences take minutes on two
# cores (make test and make fuzz run it; its saved cases run here).
# GOFLAGS=-count=1 reruns what the test cache would otherwise replay.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v -e '/test/e2e/' -e '/bench/' -e '/internal/localprom$$')
unit: ## the tests that need no cluster, browser or Prometheus: under a minute on two cores with a warm build cache
	@echo "go test -short: $(words $(UNIT_PKGS)) packages (all but test/e2e, bench and internal/localprom; TestModel skipped)"
	@$(GO) test -short -skip '^TestModel$$' $(UNIT_PKGS)

N ?= 200
bench-scale: build cluster-crds ## the scale benchmark (bench/README.md); N=1000 for the large run
	$(GO) run ./bench/scale -n $(N) -kubeconfig $(KUBECONFIG_LOCAL) -controller $(BIN)/aviary-controller

bench-soak: build cluster-crds ## bench/scale's wave WAVES times back to back, RSS after each (bench/README.md); 1000 rollouts and 10 waves unless N=… or WAVES=… is given
	$(GO) run ./bench/scale -n $(if $(filter command line environment,$(origin N)),$(N),1000) -waves $(or $(WAVES),10) -kubeconfig $(KUBECONFIG_LOCAL) -controller $(BIN)/aviary-controller

# Argo Rollouts' controller beside Aviary's, on the same cluster in one run:
# hack/argo-rollouts pins the release and builds it from the Go module proxy
# (about five minutes the first time). LIMITS=off lifts both client budgets;
# BENCH=traffic compares bench/traffic's NGINX-routed update instead.
ARGO_ROLLOUTS_BIN := $(LOCAL)/argo-rollouts/rollouts-controller
.PHONY: argo-rollouts bench-compare
argo-rollouts: ## Argo Rollouts' controller (the release hack/argo-rollouts/go.mod pins) from the Go module proxy into .local/argo-rollouts
	GO=$(GO) hack/argo-rollouts/build.sh $(ARGO_ROLLOUTS_BIN)

bench-compare: build argo-rollouts cluster-crds ## bench/scale's wave (BENCH=traffic: bench/traffic's update) with Aviary's controller, then with Argo Rollouts', side by side with ratios (bench/README.md); N=200 unless N=…; LIMITS=off lifts both client budgets
	$(GO) run ./bench/$(or $(BENCH),scale) -n $(N) -kubeconfig $(KUBECONFIG_LOCAL) -controller $(BIN)/aviary-controller -argo $(ARGO_ROLLOUTS_BIN)$(if $(filter off,$(LIMITS)), -qps -1)

bench-analysis: build cluster-crds ## the AnalysisRun benchmark (bench/README.md)
	$(GO) run ./bench/analysis -n $(or $(RUNS),2000) -kubeconfig $(KUBECONFIG_LOCAL) -controller $(BIN)/aviary-controller

bench-traffic: build cluster-crds ## the NGINX traffic-routing benchmark (bench/README.md); 500 rollouts unless N=… is given
	$(GO) run ./bench/traffic -n $(if $(filter command line environment,$(origin N)),$(N),500) -kubeconfig $(KUBECONFIG_LOCAL) -controller $(BIN)/aviary-controller

clean: ## remove build outputs (dist/ is committed and stays)
	rm -rf $(BIN)
