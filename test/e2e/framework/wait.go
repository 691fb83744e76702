package framework

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Eventually polls cond until it holds or the timeout passes, then fails the
// test with what was awaited and cond's last explanation. It is for waiting on
// the cluster, whose controllers act asynchronously — not a sleep.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := 50 * time.Millisecond
	var last string
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, last)
		}
		time.Sleep(interval)
		if interval < time.Second {
			interval *= 2
		}
	}
}

// Key names a namespaced object.
func Key(namespace, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: namespace, Name: name}
}
