package heapsampling

import (
	"os"
	"runtime"
	"testing"
)

func TestSetsRate(t *testing.T) {
	for _, c := range []struct {
		godebug string
		want    bool
	}{
		{"", false},
		{"memprofilerate=0", true},
		{"gctrace=1,memprofilerate=1", true},
		{"gctrace=1, memprofilerate=4096", true},
		{"gctrace=1", false},
		{"xmemprofilerate=1", false},
		{"memprofilerate", false},
	} {
		if got := setsRate(c.godebug); got != c.want {
			t.Errorf("setsRate(%q) = %v, want %v", c.godebug, got, c.want)
		}
	}
}

// TestOffUntilEnabled: importing the package turned sampling off; Enable
// turns it on at the runtime's default. A rate from GODEBUG is kept.
func TestOffUntilEnabled(t *testing.T) {
	before := runtime.MemProfileRate
	defer func() { runtime.MemProfileRate = before }()
	if FromGODEBUG() {
		if got := Enable(); got != before {
			t.Fatalf("Enable() = %d with GODEBUG=%q, want the rate it set, %d", got, os.Getenv("GODEBUG"), before)
		}
		return
	}
	if before != 0 {
		t.Fatalf("MemProfileRate %d after initialisation, want 0", before)
	}
	if got := Enable(); got != DefaultRate || runtime.MemProfileRate != DefaultRate {
		t.Fatalf("Enable() = %d, MemProfileRate %d, want %d", got, runtime.MemProfileRate, DefaultRate)
	}
}
