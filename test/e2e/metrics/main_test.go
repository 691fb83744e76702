// Package metrics checks the controller's Prometheus metrics as a team's
// existing Grafana dashboards and alerts read them: Argo Rollouts' metric
// names, labels and label values, scraped during seed 01's run, and the
// queries of Argo Rollouts' published dashboard answered by a real
// Prometheus scraping the controller.
package metrics

import (
	"testing"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }
