package wave

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aviary-rollouts/aviary/bench/internal/controllerproc"
)

// Argo Rollouts' own client budget, --qps 40 --burst 80 (v1.9).
const (
	argoDefaultQPS   = 40
	argoDefaultBurst = 80
)

// Argo is the command line of a side-by-side run (make bench-compare):
// Argo Rollouts' controller binary and its client budget.
type Argo struct {
	// Binary is Argo Rollouts' controller (make argo-rollouts); "" runs
	// Aviary's alone.
	Binary string
	QPS    float64
	Burst  int
}

// Register adds -argo, -argo-qps and -argo-burst to fs.
func (a *Argo) Register(fs *flag.FlagSet) {
	fs.StringVar(&a.Binary, "argo", "", "Argo Rollouts' controller binary (make argo-rollouts): run the benchmark with it too, after Aviary's, and compare")
	fs.Float64Var(&a.QPS, "argo-qps", 0, fmt.Sprintf("Argo Rollouts' --qps; 0: its default, %d, or no budget when -qps is negative", argoDefaultQPS))
	fs.IntVar(&a.Burst, "argo-burst", argoDefaultBurst, "Argo Rollouts' --burst")
}

// Config is c with Argo Rollouts' controller in place of Aviary's: its
// default budget unless -argo-qps says otherwise (none when c has none,
// so that "limits off" means the same for both), and its profiles beside
// Aviary's rather than over them.
func (a Argo) Config(c Config) (Config, error) {
	theirs := c
	theirs.Kind, theirs.Controller, theirs.QPS, theirs.Burst = controllerproc.ArgoRollouts, a.Binary, a.QPS, a.Burst
	if theirs.QPS == 0 {
		theirs.QPS = argoDefaultQPS
		if c.QPS < 0 {
			theirs.QPS = -1
		}
	}
	if c.ProfileDir != "" {
		theirs.ProfileDir = filepath.Join(c.ProfileDir, "argo-rollouts")
		if err := os.MkdirAll(theirs.ProfileDir, 0o755); err != nil {
			return Config{}, err
		}
	}
	return theirs, nil
}
