package manager

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper counts the RESTMapping questions that reach it.
type countingMapper struct {
	*meta.DefaultRESTMapper
	asked, resets int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.asked++
	return c.DefaultRESTMapper.RESTMapping(gk, versions...)
}

func (c *countingMapper) Reset() { c.resets++ }

func TestRememberingMapper(t *testing.T) {
	rollouts := schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}
	templates := schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "ClusterAnalysisTemplate"}
	inner := &countingMapper{DefaultRESTMapper: meta.NewDefaultRESTMapper([]schema.GroupVersion{rollouts.GroupVersion()})}
	inner.Add(rollouts, meta.RESTScopeNamespace)
	inner.Add(templates, meta.RESTScopeRoot)
	clock := time.Unix(1000, 0)
	m := &rememberingMapper{RESTMapper: inner, now: func() time.Time { return clock }}

	for range 3 {
		got, err := m.RESTMapping(rollouts.GroupKind(), rollouts.Version)
		if err != nil {
			t.Fatal(err)
		}
		if got.Resource.Resource != "rollouts" || got.Scope.Name() != meta.RESTScopeNameNamespace {
			t.Fatalf("Rollout mapping = %+v", got)
		}
		// What a caller does to its answer is not what the next one gets.
		got.Resource.Resource = "changed"
	}
	if inner.asked != 1 {
		t.Errorf("three questions about one kind reached the mapper %d times, want once", inner.asked)
	}

	// Each kind and version is its own question.
	if got, err := m.RESTMapping(templates.GroupKind(), templates.Version); err != nil || got.Scope.Name() != meta.RESTScopeNameRoot {
		t.Fatalf("ClusterAnalysisTemplate mapping = %+v, %v", got, err)
	}
	if inner.asked != 2 {
		t.Errorf("a second kind reached the mapper %d times in all, want 2", inner.asked)
	}

	// A kind not served is answered as such for missingFor, then asked
	// about again: it may have been installed since.
	missing := schema.GroupKind{Group: "argoproj.io", Kind: "Missing"}
	for range 3 {
		if _, err := m.RESTMapping(missing, "v1alpha1"); !meta.IsNoMatchError(err) {
			t.Fatalf("unserved kind: err = %v, want a no-match error", err)
		}
		clock = clock.Add(missingFor / 3)
	}
	if inner.asked != 3 {
		t.Errorf("three questions about an unserved kind within %s reached the mapper %d times in all, want 3 (once for it)", missingFor, inner.asked)
	}
	clock = clock.Add(missingFor)
	if _, err := m.RESTMapping(missing, "v1alpha1"); !meta.IsNoMatchError(err) {
		t.Fatalf("unserved kind: err = %v, want a no-match error", err)
	}
	if inner.asked != 4 {
		t.Errorf("after %s the unserved kind reached the mapper %d times in all, want 4", missingFor, inner.asked)
	}

	// No version, or several: the mapper behind answers every time (the
	// preferred version can change).
	for range 2 {
		if _, err := m.RESTMapping(rollouts.GroupKind()); err != nil {
			t.Fatal(err)
		}
		if _, err := m.RESTMapping(rollouts.GroupKind(), "v1alpha1", "v1"); err != nil {
			t.Fatal(err)
		}
	}
	if inner.asked != 8 {
		t.Errorf("questions without exactly one version reached the mapper %d times in all, want 8", inner.asked)
	}

	// Reset forgets, and resets the mapper behind.
	m.Reset()
	if inner.resets != 1 {
		t.Errorf("Reset reached the mapper behind %d times, want once", inner.resets)
	}
	if _, err := m.RESTMapping(rollouts.GroupKind(), rollouts.Version); err != nil {
		t.Fatal(err)
	}
	if inner.asked != 9 {
		t.Errorf("after Reset the mapper was asked %d times in all, want 9", inner.asked)
	}
}
