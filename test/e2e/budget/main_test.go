// Package budget proves the controller's client budget on the local
// cluster: with --qps and --burst set low, every request the process sends,
// whichever client sends it, stays within them.
package budget

import (
	"testing"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }
