package plugin

import (
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

const sum = "4d5e8a6c0b1f2e3d4c5b6a79887766554433221100ffeeddccbbaa9988776655"

func TestParse(t *testing.T) {
	data := map[string]string{
		// Argo Rollouts' documented shape, every field.
		"metricProviderPlugins": `
- name: argoproj-labs/sample-prometheus
  location: https://github.com/argoproj-labs/sample-prometheus/releases/download/v0.0.4/metric-plugin-linux-amd64
  sha256: ` + sum + `
  args: [--log-level, debug]
  headersFrom:
  - secretRef:
      name: github-token
- name: acme/local.metric_v2
  location: file:///plugins/local-metric
`,
		"trafficRouterPlugins": `
- name: argoproj-labs/gatewayAPI
  location: https://example.com/gateway-api-plugin
`,
		"stepPlugins": `
- name: acme/step
  location: file://./step
  disabled: true
`,
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{Name: "argoproj-labs/gatewayAPI", Location: "https://example.com/gateway-api-plugin", Kind: TrafficRouter},
		{Name: "argoproj-labs/sample-prometheus", Location: "https://github.com/argoproj-labs/sample-prometheus/releases/download/v0.0.4/metric-plugin-linux-amd64",
			Sha256: sum, Args: []string{"--log-level", "debug"}, HeadersFrom: []HeadersFrom{{SecretRef: SecretRef{Name: "github-token"}}}, Kind: MetricProvider},
		{Name: "acme/local.metric_v2", Location: "file:///plugins/local-metric", Kind: MetricProvider},
		{Name: "acme/step", Location: "file://./step", Disabled: true, Kind: Step},
	}
	if !reflect.DeepEqual(c.Items, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", c.Items, want)
	}
	if got := c.Of(MetricProvider); len(got) != 2 || got[0].Name != "argoproj-labs/sample-prometheus" {
		t.Errorf("Of(MetricProvider) = %+v", got)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct {
		name, key, yaml, want string
	}{
		{"not YAML", "metricProviderPlugins", "- name: [", `ConfigMap argo-rollouts-config, key metricProviderPlugins: `},
		{"not a list", "metricProviderPlugins", "name: a/b", `key metricProviderPlugins: `},
		{"name without owner", "metricProviderPlugins", "- {name: sample, location: file:///x}",
			`plugin "sample": name must be <owner>/<name>`},
		{"name with two slashes", "stepPlugins", "- {name: a/b/c, location: file:///x}",
			`key stepPlugins, plugin "a/b/c": name must be <owner>/<name>`},
		{"no location", "metricProviderPlugins", "- {name: a/b}", `location "" is not a URL`},
		{"relative location", "metricProviderPlugins", "- {name: a/b, location: bin/plugin}", `location "bin/plugin" is not a URL`},
		{"other scheme", "metricProviderPlugins", "- {name: a/b, location: 'ftp://host/plugin'}", `location has scheme "ftp"`},
		{"short sha256", "metricProviderPlugins", "- {name: a/b, location: 'file:///x', sha256: abc}", `sha256 must be 64 hexadecimal digits`},
		{"sha256 not hex", "metricProviderPlugins", "- {name: a/b, location: 'file:///x', sha256: " + strings.Repeat("z", 64) + "}", `sha256 must be 64 hexadecimal digits`},
		{"headersFrom without a name", "metricProviderPlugins", "- {name: a/b, location: 'https://h/p', headersFrom: [{secretRef: {}}]}", `headersFrom: each entry needs secretRef.name`},
		{"a name twice", "metricProviderPlugins", "- {name: a/b, location: 'file:///x'}\n- {name: a/b, location: 'file:///y'}",
			`plugin "a/b": the name is also listed under metricProviderPlugins`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(map[string]string{c.key: c.yaml})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
	// One name in two lists would share one file.
	_, err := Parse(map[string]string{
		"trafficRouterPlugins":  "- {name: a/b, location: 'file:///x'}",
		"metricProviderPlugins": "- {name: a/b, location: 'file:///y'}",
	})
	if err == nil || !strings.Contains(err.Error(), "also listed under trafficRouterPlugins") {
		t.Errorf("a name in two lists: %v", err)
	}
}

func TestLoad(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "rollouts", Name: ConfigMapName},
		Data: map[string]string{"metricProviderPlugins": "- {name: a/b, location: 'file:///x'}"}}
	r := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(cm).Build()
	c, err := Load(context.Background(), r, "rollouts")
	if err != nil || len(c.Items) != 1 || c.Items[0].Name != "a/b" {
		t.Errorf("Load = %+v, %v", c, err)
	}
	// The ConfigMap of another namespace is not the controller's: none is
	// no plugins, as in Argo Rollouts.
	c, err = Load(context.Background(), r, "elsewhere")
	if err != nil || len(c.Items) != 0 {
		t.Errorf("no ConfigMap: %+v, %v", c, err)
	}
}
