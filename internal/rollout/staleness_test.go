package rollout

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestWriteTrackerSkipsCopiesOlderThanOurWrite(t *testing.T) {
	var w writeTracker
	key := types.NamespacedName{Namespace: "ns", Name: "web"}
	if w.stale(key, "5") {
		t.Fatal("nothing written yet: trust the cache")
	}
	w.record(key, "10")
	if !w.stale(key, "9") {
		t.Error("a copy older than our write is stale")
	}
	if w.stale(key, "10") {
		t.Error("the copy we wrote is current")
	}
	if w.stale(key, "9") {
		t.Error("once caught up, the mark is dropped")
	}
	w.record(key, "not-a-number")
	if w.stale(key, "1") {
		t.Error("unparsable versions are never treated as stale")
	}
}
