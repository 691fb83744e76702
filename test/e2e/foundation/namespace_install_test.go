package foundation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// decodeManifest splits a multi-document manifest into objects.
func decodeManifest(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// TestNamespacedInstall installs the controller the way the README says,
// into a namespace of the user's choosing: `kubectl apply -n NS -f
// dist/namespace-install.yaml`. Every object must land in NS and the
// RoleBinding must grant the Role to NS's ServiceAccount only. No image can
// run here, so the controller binary is started as the Deployment would
// start it: with the Deployment's exact args, POD_NAMESPACE=NS (the
// downward API) and the install's ServiceAccount's credentials; it must
// lead and take a rollout in NS through its first canary step.
func TestNamespacedInstall(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	path := filepath.Join(e.RepoRoot, "dist", "namespace-install.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// kubectl's own kustomize builds the base into the same manifest.
	built, err := e.Kubectl(ctx, "kustomize", filepath.Join(e.RepoRoot, "manifests", "namespace-install"))
	if err != nil {
		t.Fatal(err)
	}
	if _, body, _ := strings.Cut(string(data), "\n---\n"); strings.TrimSpace(body) != strings.TrimSpace(built) {
		t.Errorf("`kubectl kustomize manifests/namespace-install` differs from dist/namespace-install.yaml:\n%s", built)
	}
	if out, err := e.Kubectl(ctx, "apply", "-n", ns, "-f", path); err != nil {
		t.Fatalf("kubectl apply -n %s -f dist/namespace-install.yaml: %v\n%s", ns, err, out)
	}

	var deployment appsv1.Deployment
	for _, obj := range decodeManifest(t, data) {
		resource := strings.ToLower(obj.GetKind())
		if g := obj.GroupVersionKind().Group; g != "" {
			resource += "." + g
		}
		got, err := e.Kubectl(ctx, "get", resource, obj.GetName(), "-n", ns, "-o", "jsonpath={.metadata.namespace}")
		if err != nil || got != ns {
			t.Errorf("%s %s: namespace %q, want %s (%v)", obj.GetKind(), obj.GetName(), got, ns, err)
		}
		if obj.GetKind() == "Deployment" {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &deployment); err != nil {
				t.Fatal(err)
			}
		}
	}
	sa := "system:serviceaccount:" + ns + ":" + serviceAccount
	for _, c := range []struct {
		verb, resource, ns string
		want               bool
	}{
		{"patch", "rollouts/status", ns, true},
		{"create", "replicasets.apps", ns, true},
		{"update", "leases.coordination.k8s.io", ns, true},
		{"patch", "rollouts/status", "default", false},
		{"list", "rollouts", "default", false},
	} {
		if got := canI(t, sa, c.verb, c.resource, c.ns); got != c.want {
			t.Errorf("%s: can-i %s %s -n %s = %v, want %v", sa, c.verb, c.resource, c.ns, got, c.want)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	ctr := deployment.Spec.Template.Spec.Containers[0]
	var podNamespace bool
	for _, env := range ctr.Env {
		podNamespace = podNamespace || env.Name == "POD_NAMESPACE" && env.ValueFrom != nil && env.ValueFrom.FieldRef != nil &&
			env.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
	}
	if !podNamespace {
		t.Fatalf("the Deployment does not give the controller POD_NAMESPACE: %+v", ctr.Env)
	}
	// The downward API's value; the child process inherits it.
	t.Setenv("POD_NAMESPACE", ns)
	kubeconfig := serviceAccountKubeconfig(t, ns)
	// Only what a pod gets otherwise: its credentials (in-cluster config)
	// and free ports instead of the container's.
	c := framework.StartController(t, append([]string{"--kubeconfig", kubeconfig}, ctr.Args...)...)
	id := identityOf(t, c)
	const lease = "aviary-controller-lock"
	framework.Eventually(t, 30*time.Second, "the controller to hold Lease "+lease+" in "+ns, func() (bool, string) {
		l, err := e.Clientset.CoordinationV1().Leases(ns).Get(ctx, lease, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == id, "not yet held by " + id
	})
	c.WaitForOutput(10*time.Second, "leading: this instance now reconciles")

	if out, err := e.Kubectl(ctx, "apply", "-n", ns, "-f", framework.Example(t, "03-basic-canary.yaml")); err != nil {
		t.Fatalf("apply seed 03: %v\n%s", err, out)
	}
	rollout := func() *v1alpha1.Rollout {
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "rollouts-demo"), &ro); err != nil {
			t.Fatal(err)
		}
		return &ro
	}
	framework.Eventually(t, 90*time.Second, "the first version Healthy", func() (bool, string) {
		ro := rollout()
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS != "", string(ro.Status.Phase) + " " + ro.Status.Message
	})
	framework.SetRolloutImage(t, ns, "rollouts-demo", "argoproj/rollouts-demo:green")
	framework.Eventually(t, 90*time.Second, "the update paused at its first step (20%)", func() (bool, string) {
		ro := rollout()
		ok := ro.Status.Phase == v1alpha1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1 &&
			ro.Status.CurrentPodHash != ro.Status.StableRS
		return ok, string(ro.Status.Phase) + " " + ro.Status.Message
	})
}
