//go:build linux

package residency

import (
	"testing"
)

// TestReleaseDropsStartupPages releases the test binary's pages: what the
// run so far touched leaves the resident set, and the program goes on
// running (this test returning is the proof that faulting back works).
func TestReleaseDropsStartupPages(t *testing.T) {
	r, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	if r.Mappings == 0 && !r.PageoutUnsupported {
		t.Fatal("no read-only mapping of the executable was found in /proc/self/maps")
	}
	if r.Before == 0 {
		t.Fatal("RssFile was not read from /proc/self/status")
	}
	if r.PageoutUnsupported {
		t.Logf("this kernel does not reclaim on request (MADV_PAGEOUT): pages were only unmapped; RssFile %d → %d", r.Before, r.After)
		return
	}
	if r.After >= r.Before {
		t.Errorf("resident file pages %d bytes before and %d after: nothing was released", r.Before, r.After)
	}
	t.Logf("RssFile %d KiB → %d KiB over %d mappings", r.Before/1024, r.After/1024, r.Mappings)
	// Running code again after the release faults its pages back in.
	if _, err := Release(); err != nil {
		t.Fatal(err)
	}
}
