package pass

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// ExperimentName is the name Argo Rollouts gives the Experiment of an
// experiment step: the Rollout, the new ReplicaSet's pod-template hash,
// its revision and the step index. A name taken by something else gets
// "-1", "-2"… (CollisionName).
func ExperimentName(rollout, hash string, revision int64, step int32) string {
	return fmt.Sprintf("%s-%s-%d-%d", rollout, hash, revision, step)
}

// ExperimentCollisionName is the n-th name tried after base was taken.
func ExperimentCollisionName(base string, n int) string {
	return fmt.Sprintf("%s-%d", base, n)
}

// ofStep reports whether name is base or one of its collision names.
func ofStep(name, base string) bool {
	if name == base {
		return true
	}
	rest, ok := strings.CutPrefix(name, base+"-")
	if !ok || rest == "" {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// StepExperiment is the Experiment of the experiment step whose base name
// is base, in the current attempt: the one status.canary.currentExperiment
// (named) names, whatever its phase, so its outcome is read once; failing
// that, the newest one still running and not told to stop, created by a
// pass whose status write was lost. A finished Experiment the status no
// longer names is history: entering the step again (new steps, a retry)
// starts a new one, as in Argo Rollouts. Superseded ones never count.
func StepExperiment(exs []*v1alpha1.Experiment, named, base string) *v1alpha1.Experiment {
	var found *v1alpha1.Experiment
	for _, ex := range exs {
		if !ofStep(ex.Name, base) || ex.Annotations[rules.SupersededAnnotation] != "" {
			continue
		}
		if ex.Name == named {
			return ex
		}
		if ex.Spec.Terminate || ex.Status.Phase.Completed() {
			continue
		}
		if found == nil || found.CreationTimestamp.Before(&ex.CreationTimestamp) {
			found = ex
		}
	}
	return found
}

// StopAndPruneExperiments terminates every running Experiment but keep
// (the current step's, "" for none), and deletes, as Argo Rollouts does,
// those whose ReplicaSet (by pod-template hash) is gone and the completed
// ones beyond successfulRunHistoryLimit and unsuccessfulRunHistoryLimit,
// newest kept.
func (b *Builder) StopAndPruneExperiments(keep string, sets []*appsv1.ReplicaSet) {
	ro := b.obs.Rollout
	hashes := map[string]bool{}
	for _, set := range sets {
		if h := set.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; h != "" {
			hashes[h] = true
		}
	}
	others := make([]*v1alpha1.Experiment, 0, len(b.Experiments))
	for _, ex := range b.Experiments {
		if ex.Name == keep {
			continue
		}
		if !ex.Spec.Terminate && !ex.Status.Phase.Completed() {
			b.Add(TerminateExperiment{Name: ex.Name})
		}
		others = append(others, ex)
	}
	slices.SortFunc(others, func(x, y *v1alpha1.Experiment) int {
		if c := y.CreationTimestamp.Compare(x.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(y.Name, x.Name)
	})
	okLeft, badLeft := ro.SuccessfulRunHistoryLimitOrDefault(), ro.UnsuccessfulRunHistoryLimitOrDefault()
	for _, ex := range others {
		drop := false
		switch hash := ex.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; {
		case hash == "" || !hashes[hash]:
			drop = true
		case ex.Status.Phase == v1alpha1.AnalysisPhaseSuccessful:
			drop = okLeft <= 0
			okLeft--
		case ex.Status.Phase.Completed():
			drop = badLeft <= 0
			badLeft--
		}
		if drop {
			b.Add(DeleteExperiment{Name: ex.Name, UID: ex.UID})
		}
	}
}
