package foundation

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestHeapProfileSampledWhenServed: the controller turns the runtime's
// heap sampling off at start-up (internal/heapsampling), so the one way a
// user reads a heap profile, --enable-pprof-address, must turn it back
// on, and a memprofilerate the user put in GODEBUG must be the one the
// profile is sampled at. The text heap profile's first line says the rate
// the samples were taken at ("@ heap/<2 × MemProfileRate>"; 0 when
// sampling is off).
func TestHeapProfileSampledWhenServed(t *testing.T) {
	for _, c := range []struct {
		name, godebug, want string
	}{
		{"default rate", "", "@ heap/1048576"},
		{"GODEBUG's rate", "memprofilerate=4096", "@ heap/8192"},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := framework.FreeAddr(t)
			var env []string
			if c.godebug != "" {
				env = []string{"GODEBUG=" + c.godebug}
			}
			ctl := framework.StartControllerEnv(t, env, "--enable-pprof-address", addr, "--leader-elect=false", "--namespaced", "--namespace", "heapsampling-none")
			var first string
			framework.Eventually(t, 60*time.Second, "the controller serves its heap profile", func() (bool, string) {
				resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
				if err != nil {
					return false, err.Error()
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return false, resp.Status
				}
				line, err := bufio.NewReader(resp.Body).ReadString('\n')
				first = strings.TrimSpace(line)
				return err == nil, first
			})
			if !strings.Contains(first, c.want) {
				t.Errorf("heap profile begins %q, want it sampled at %q\n%s", first, c.want, ctl.Output())
			}
		})
	}
}
