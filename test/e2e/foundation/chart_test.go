package foundation

import (
	"bytes"
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// renderChart renders charts/aviary with Helm's library, as `helm template
// aviary -n namespace -f values` would, into one multi-document manifest.
func renderChart(t *testing.T, namespace, values string) []byte {
	t.Helper()
	chrt, err := loader.Load(filepath.Join(framework.Get(t).RepoRoot, "charts", "aviary"))
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ReadValues([]byte(values))
	if err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(chrt, vals,
		chartutil.ReleaseOptions{Name: "aviary", Namespace: namespace, Revision: 1, IsInstall: true}, chartutil.DefaultCapabilities.Copy())
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(chrt, rv)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if strings.HasSuffix(name, ".yaml") && strings.TrimSpace(files[name]) != "" {
			b.WriteString("---\n")
			b.WriteString(files[name])
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

// TestChartAppliesToTheCluster sends the chart's renderings to the API
// server with `kubectl apply --dry-run=server`: every object passes
// validation and admission (CRDs included) without being stored.
func TestChartAppliesToTheCluster(t *testing.T) {
	e := framework.Get(t)
	ns := framework.Namespace(t)
	for name, values := range map[string]string{
		"defaults":   "",
		"namespaced": "clusterInstall: false\ncreateClusterAggregateRoles: false\ninstallCRDs: false\ndashboard: {enabled: true}\n",
		"ha":         "controller: {replicas: 3, pdb: {enabled: true}}\n",
		"dashboard":  "dashboard: {enabled: true}\n",
	} {
		t.Run(name, func(t *testing.T) {
			manifest := renderChart(t, ns, values)
			out, err := e.KubectlStdin(context.Background(), manifest, "apply", "--dry-run=server", "-f", "-")
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server of the chart (%s): %v\n%s", name, err, out)
			}
			if !strings.Contains(out, "deployment.apps/aviary-controller") {
				t.Errorf("the controller Deployment was not applied:\n%s", out)
			}
		})
	}
}
