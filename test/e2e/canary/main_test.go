// Package canary runs canary rollouts end to end on the local cluster, with
// the controller scoped to each test's namespace.
package canary

import (
	"testing"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// scopedNamespace creates the test's namespace and runs a controller scoped
// to it (no leader election), so tests never share a controller.
func scopedNamespace(t *testing.T) (string, *framework.Controller) {
	t.Helper()
	ns := framework.Namespace(t)
	return ns, framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
}
