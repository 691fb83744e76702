package experiment

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// replace substitutes old/new pairs in a manifest.
func replace(s string, oldNew ...string) string { return strings.NewReplacer(oldNew...).Replace(s) }

func metav1ListOptions() metav1.ListOptions { return metav1.ListOptions{} }

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	framework.Eventually(t, timeout, what, cond)
}

// unstructuredExperiment is the status phase and message of an Experiment
// read without the Go types (a malformed one cannot be decoded).
func unstructuredExperiment(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	gvr := schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "experiments"}
	u, err := framework.Get(t).Dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Experiment %s: %v", name, err)
	}
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
	return map[string]string{"phase": phase, "message": msg}
}
