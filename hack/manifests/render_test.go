package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestDistIsUpToDate fails when dist/ differs from what `make manifests`
// would write, so the committed install manifests never drift from the code.
func TestDistIsUpToDate(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := Render(filepath.Join(root, "config", "crd"), DefaultImage)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, "dist", name))
		if err != nil {
			t.Fatalf("read dist/%s: %v (run `make manifests`)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("dist/%s is out of date: run `make manifests` and commit the result", name)
		}
	}
}

// TestNamespacedRulesAreClusterRulesWithoutClusterScopedKinds keeps the two
// install variants granting the same access to namespaced kinds.
func TestNamespacedRulesAreClusterRulesWithoutClusterScopedKinds(t *testing.T) {
	flat := func(rules []rbacv1.PolicyRule) map[string]bool {
		m := map[string]bool{}
		for _, r := range rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						m[g+"/"+res+":"+v] = true
					}
				}
			}
		}
		return m
	}
	cluster, ns := flat(clusterRules()), flat(namespacedRules())
	for k := range cluster {
		if strings.Contains(k, "/clusteranalysistemplates:") {
			continue
		}
		if !ns[k] {
			t.Errorf("namespaced install lacks %s that the cluster install grants", k)
		}
	}
	for k := range ns {
		if !cluster[k] {
			t.Errorf("namespaced install grants %s that the cluster install does not", k)
		}
	}
}

// TestDeploymentIsHardened checks the security settings users and admission
// policies expect of a controller Deployment.
func TestDeploymentIsHardened(t *testing.T) {
	c := deployment(DefaultImage, nil).Spec.Template.Spec
	ctr := c.Containers[0]
	switch {
	case c.SecurityContext.RunAsNonRoot == nil || !*c.SecurityContext.RunAsNonRoot:
		t.Error("pod must run as non-root")
	case ctr.SecurityContext.ReadOnlyRootFilesystem == nil || !*ctr.SecurityContext.ReadOnlyRootFilesystem:
		t.Error("container must have a read-only root filesystem")
	case ctr.SecurityContext.AllowPrivilegeEscalation == nil || *ctr.SecurityContext.AllowPrivilegeEscalation:
		t.Error("container must not allow privilege escalation")
	case ctr.Resources.Requests.Cpu().IsZero() || ctr.Resources.Requests.Memory().IsZero():
		t.Error("container must request CPU and memory")
	case ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet.Path != "/healthz":
		t.Error("liveness probe must hit /healthz")
	case ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet.Path != "/readyz":
		t.Error("readiness probe must hit /readyz")
	}
}
