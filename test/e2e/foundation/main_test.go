// Package foundation checks the base every feature stands on, on the real
// local cluster: users' manifests apply against our CRDs unchanged, invalid
// objects are refused with messages naming the field, and the install
// manifests and controller process (leader election, metrics, health) work.
package foundation

import (
	"testing"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }
