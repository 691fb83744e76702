// Package traffic runs traffic-routed canaries on the local cluster and
// checks the router objects the controller writes.
package traffic

import (
	"testing"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }
