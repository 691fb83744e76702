package canary

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// revisionsByHash is each ReplicaSet's rollout.argoproj.io/revision by its
// pod-template hash.
func revisionsByHash(t *testing.T, ns string) map[string]string {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, rs := range list.Items {
		out[rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]] = rs.Annotations[v1alpha1.RevisionAnnotation]
	}
	return out
}

// TestRolloutCarriesItsRevision: as with Argo Rollouts (Argo CD shows it),
// the Rollout's own rollout.argoproj.io/revision annotation is its current
// ReplicaSet's revision — 1 after the first deploy, 2 after an image
// update, 3 after `undo` puts revision 1's template back (its ReplicaSet
// renumbered to 3). Every Rollout version the API server stored is
// checked: the annotation only ever moves forward, one value at a time,
// and no status names a current ReplicaSet the annotation has not caught
// up with (it is written just before the status of the reconcile that
// starts the revision).
func TestRolloutCarriesItsRevision(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scopedNamespace(t)
	var log versionLog
	log.watch(t, ns)
	if out, err := e.Kubectl(context.Background(), "apply", "-n", ns, "-f", framework.Example(t, "03-basic-canary.yaml")); err != nil {
		t.Fatalf("apply seed 03: %v\n%s", err, out)
	}
	revisionIs := func(want string, current *string) {
		t.Helper()
		framework.Eventually(t, 60*time.Second, "the rollout at revision "+want, func() (bool, string) {
			ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
			revs := revisionsByHash(t, ns)
			*current = ro.Status.CurrentPodHash
			got := ro.Annotations[v1alpha1.RevisionAnnotation]
			return got == want && revs[*current] == want,
				fmt.Sprintf("annotation %q, ReplicaSet revisions %v; %s", got, revs, describe(ro, spec, avail))
		})
	}
	var blue, green, undone string
	revisionIs("1", &blue)
	waitForFirstVersion(t, ns, 5)

	setImage(t, ns, "argoproj/rollouts-demo:green")
	revisionIs("2", &green)
	if green == blue {
		t.Fatalf("the image update kept the pod-template hash %s", blue)
	}
	if revs := revisionsByHash(t, ns); revs[blue] != "1" {
		t.Errorf("blue's ReplicaSet renumbered to %q by the update", revs[blue])
	}

	// `kubectl argo rollouts undo`: revision 1's template, back in the
	// Rollout; its ReplicaSet becomes revision 3.
	cmd := exec.Command(framework.CLIBinary(t), "--kubeconfig", e.Kubeconfig, "-n", ns, "undo", "rollouts-demo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("undo: %v\n%s", err, out)
	}
	revisionIs("3", &undone)
	if undone != blue {
		t.Fatalf("undo went to %s, not back to blue's ReplicaSet %s", undone, blue)
	}
	if revs := revisionsByHash(t, ns); revs[green] != "2" || len(revs) != 2 {
		t.Errorf("ReplicaSet revisions %v, want %s at 3 and %s at 2", revs, blue, green)
	}
	var rs appsv1.ReplicaSet
	if err := e.Client.Get(context.Background(), framework.Key(ns, "rollouts-demo-"+blue), &rs); err != nil {
		t.Fatal(err)
	}
	if h := rs.Annotations[v1alpha1.RevisionHistoryAnnotation]; h != "1" {
		t.Errorf("blue's revision-history %q, want \"1\"", h)
	}

	// The stored history: 1, 2, 3 in that order, each status naming a
	// current ReplicaSet whose revision the annotation already carries.
	framework.Eventually(t, 10*time.Second, "the watch caught up", func() (bool, string) {
		vs := log.rolloutVersions()
		return len(vs) > 0 && vs[len(vs)-1].Annotations[v1alpha1.RevisionAnnotation] == "3", fmt.Sprint(len(vs), " versions")
	})
	var seen []string
	phase := map[string]string{} // the annotation each current hash must come with, by phase of the test
	for _, ro := range log.rolloutVersions() {
		a := ro.Annotations[v1alpha1.RevisionAnnotation]
		if len(seen) == 0 || seen[len(seen)-1] != a {
			seen = append(seen, a)
		}
		cur := ro.Status.CurrentPodHash
		switch {
		case cur == green:
			phase[green] = "2"
		case cur == blue && phase[green] != "":
			phase[blue] = "3"
		case cur == blue:
			phase[blue] = "1"
		}
		// The annotation may lead the status (it is written first), never
		// trail it.
		if want := phase[cur]; cur != "" && (a == "" || a < want) {
			t.Errorf("resourceVersion %s: status.currentPodHash %s with annotation %q, want at least %q", ro.ResourceVersion, cur, a, want)
		}
	}
	if want := []string{"", "1", "2", "3"}; !slices.Equal(seen, want) && !slices.Equal(seen, want[1:]) {
		t.Errorf("the annotation went %q, want %q", seen, want)
	}
}
