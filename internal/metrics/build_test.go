package metrics

import (
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aviary-rollouts/aviary/internal/version"
)

func TestRegisterBuild(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	RegisterBuild(reg)
	v := version.Get()
	want := `
# HELP argo_rollouts_controller_info Running Argo-rollouts version
# TYPE argo_rollouts_controller_info gauge
argo_rollouts_controller_info{version="` + v.Version + `"} 1
# HELP build_info A metric with a constant '1' value labeled by version from which Argo-Rollouts was built.
# TYPE build_info gauge
build_info{commit="` + v.Commit + `",goarch="` + runtime.GOARCH + `",goversion="` + runtime.Version() + `",version="` + v.Version + `"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if v.Version == "" || v.Commit == "" {
		t.Errorf("version %q, commit %q: labels must not be empty", v.Version, v.Commit)
	}
}
