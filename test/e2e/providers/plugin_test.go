package providers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
	"github.com/aviary-rollouts/aviary/test/plugintest"
)

// pluginToken authorizes the plugin's download: the headersFrom Secret
// holds it, and it must never leak.
const pluginToken = "Bearer plugin-download-s3cret"

// TestPlugin runs a metric plugin built on Argo Rollouts' own plugin
// packages (test/plugins/metric), which queries the stand-in's /value and
// judges it with Argo's evaluation. The controller downloads it at start
// from an HTTP server that wants the headersFrom Secret's header, checks
// its sha256, and starts it with go-plugin.
func TestPlugin(t *testing.T) {
	bin := plugintest.MetricPlugin(t)
	answer := func(value string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/value" {
				http.Error(w, "unexpected request", http.StatusBadRequest)
				return
			}
			fmt.Fprintln(w, value)
		}
	}
	checkProvider(t, providerCase{
		Provider: func(url string) string {
			return "plugin:\n  " + plugintest.Name + ":\n    url: " + url + "/value\n"
		},
		SuccessCondition: "result >= 0.95",
		FailureCondition: "result < 0.9",
		Good:             answer("0.99"),
		Bad:              answer("0.5"),
		Setup: func(t *testing.T, ns, _ string) []string {
			releases := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != "/releases/v1/metric-linux" || r.Header.Get("Authorization") != pluginToken {
					http.Error(w, "unexpected request", http.StatusUnauthorized)
					return
				}
				http.ServeFile(w, r, bin)
			}))
			t.Cleanup(releases.Close)
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plugin-download"}, StringData: map[string]string{"Authorization": pluginToken}}
			if _, err := framework.Get(t).Clientset.CoreV1().Secrets(ns).Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			pluginConfig(t, ns,
				"location: "+releases.URL+"/releases/v1/metric-linux",
				"sha256: "+plugintest.Sum(t, bin),
				"headersFrom: [{secretRef: {name: plugin-download}}]")
			return nil
		},
		Secrets: []string{pluginToken},
	})
}

// The controller does not start with a plugin it cannot fetch or whose
// sha256 is not the ConfigMap's, and never runs the refused binary (which
// would write a marker as it starts).
func TestPluginRefused(t *testing.T) {
	t.Parallel()
	bin := plugintest.MetricPlugin(t)
	for _, c := range []struct {
		name     string
		location func(t *testing.T) string
		sha256   string
		want     string
	}{
		{"sha256 mismatch", func(*testing.T) string { return "file://" + bin }, strings.Repeat("ab", 32),
			"sha256 mismatch: the binary's is " + plugintest.Sum(t, bin) + ", the ConfigMap's sha256 is " + strings.Repeat("ab", 32) + "; refusing to run it"},
		{"nothing to download", func(t *testing.T) string { return "http://" + framework.FreeAddr(t) + "/metric" }, plugintest.Sum(t, bin),
			`/metric: download: dial tcp`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ns := framework.Namespace(t)
			marker := filepath.Join(t.TempDir(), "ran")
			pluginConfig(t, ns, "location: "+c.location(t), "sha256: "+c.sha256, "args: [--marker, "+marker+"]")
			ctrl := framework.StartControllerEnv(t, []string{"POD_NAMESPACE=" + ns}, "--leader-elect=false", "--namespaced", "--namespace", ns)
			framework.Eventually(t, time.Minute, "the controller to exit", func() (bool, string) {
				return ctrl.Exited(), ctrl.Output()
			})
			prefix := fmt.Sprintf(`aviary-controller: the controller does not start without the plugins ConfigMap %s/argo-rollouts-config lists: MetricProvider plugin %q from `, ns, plugintest.Name)
			if code, out := ctrl.ExitCode(), ctrl.Output(); code != 1 || !strings.Contains(out, prefix) || !strings.Contains(out, c.want) {
				t.Errorf("exit code %d, output:\n%s\nwant exit code 1 and %q ... %q", code, out, prefix, c.want)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Errorf("the refused plugin ran: %v", err)
			}
		})
	}
}

// pluginConfig writes argo-rollouts-config in ns, listing the test plugin
// with the given fields (YAML, one per line).
func pluginConfig(t *testing.T, ns string, fields ...string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argo-rollouts-config"}, Data: map[string]string{"metricProviderPlugins": plugintest.Plugins(fields...)}}
	if _, err := framework.Get(t).Clientset.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
