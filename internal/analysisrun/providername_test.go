package analysisrun

import (
	"encoding/json"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// The judge's plugin entry is run built in; any other entry goes to the
// metric plugins.
func TestProviderNameOfPlugins(t *testing.T) {
	for _, c := range []struct {
		plugin map[string]json.RawMessage
		want   string
	}{
		{map[string]json.RawMessage{"aviary-rollouts/judge": json.RawMessage(`{}`)}, "judge"},
		{map[string]json.RawMessage{"argoproj-labs/sample-prometheus": json.RawMessage(`{}`)}, "plugin"},
	} {
		if got := providerName(v1alpha1.Metric{Provider: v1alpha1.MetricProvider{Plugin: c.plugin}}); got != c.want {
			t.Errorf("plugin %v: provider %q, want %q", c.plugin, got, c.want)
		}
	}
}
