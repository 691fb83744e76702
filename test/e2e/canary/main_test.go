// Package canary runs canary rollouts end to end on the local cluster, with
// the controller scoped to each test's namespace.
package canary

import (
	"testing"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }
