package foundation

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// canI asks the API server whether user may do verb on resource in ns, as
// `kubectl auth can-i` (which exits 1 with "no").
func canI(t *testing.T, user, verb, resource, ns string) bool {
	t.Helper()
	out, err := framework.Get(t).Kubectl(context.Background(), "auth", "can-i", verb, resource, "--as", user, "-n", ns)
	switch strings.TrimSpace(out) {
	case "yes":
		return true
	case "no":
		return false
	}
	t.Fatalf("kubectl auth can-i %s %s --as %s -n %s: %q, %v", verb, resource, user, ns, out, err)
	return false
}

// TestAggregatedRoles applies the aggregated ClusterRoles as a user would
// (`kubectl apply -k manifests/aggregate-roles`), binds one user to the
// built-in admin, edit and view ClusterRoles each in a test namespace, and
// checks what each may do with Aviary's kinds there. The ClusterRoles are
// the same objects dist/install.yaml installs, so they are left installed.
func TestAggregatedRoles(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	if out, err := e.Kubectl(ctx, "apply", "-k", filepath.Join(e.RepoRoot, "manifests", "aggregate-roles")); err != nil {
		t.Fatalf("kubectl apply -k manifests/aggregate-roles: %v\n%s", err, out)
	}
	ns := framework.Namespace(t)
	users := map[string]string{}
	for _, role := range []string{"admin", "edit", "view"} {
		users[role] = "aviary-e2e-" + role + "@" + ns
		if out, err := e.Kubectl(ctx, "create", "rolebinding", "e2e-"+role, "-n", ns, "--clusterrole", role, "--user", users[role]); err != nil {
			t.Fatalf("bind %s to %s: %v\n%s", users[role], role, err, out)
		}
	}
	// kube-controller-manager copies the rules into admin, edit and view.
	framework.Eventually(t, 60*time.Second, "the aggregated rules in the built-in roles", func() (bool, string) {
		ok := canI(t, users["admin"], "delete", "experiments", ns) && canI(t, users["edit"], "patch", "rollouts/status", ns) &&
			canI(t, users["view"], "get", "rollouts", ns)
		return ok, "not yet aggregated"
	})

	for _, c := range []struct {
		verb, resource      string
		admin, edit, viewer bool
	}{
		{"patch", "rollouts/status", true, true, false},
		{"create", "rollouts", true, true, false},
		{"update", "rollouts/scale", true, true, false},
		{"patch", "analysisruns/status", true, true, false},
		{"delete", "analysisruns", true, true, false},
		{"create", "analysistemplates", true, true, false},
		{"update", "experiments/status", true, true, false},
		{"get", "analysisruns", true, true, true},
		{"list", "rollouts", true, true, true},
		{"watch", "experiments", true, true, true},
		{"get", "rollouts/status", true, true, true},
		{"get", "rollouts/scale", true, true, true},
		{"list", "analysistemplates", true, true, true},
	} {
		for role, want := range map[string]bool{"admin": c.admin, "edit": c.edit, "view": c.viewer} {
			if got := canI(t, users[role], c.verb, c.resource, ns); got != want {
				t.Errorf("%s (bound to %s): can-i %s %s = %v, want %v", users[role], role, c.verb, c.resource, got, want)
			}
		}
	}
	// The bindings are the namespace's: nothing is granted elsewhere.
	for role, user := range users {
		if canI(t, user, "get", "rollouts", "default") {
			t.Errorf("%s (bound to %s in %s) may get rollouts in namespace default", user, role, ns)
		}
	}
	if t.Failed() {
		out, _ := e.Kubectl(ctx, "get", "clusterrole", "edit", "view", "-o", "yaml")
		t.Logf("the built-in roles:\n%s", out)
	}
}
