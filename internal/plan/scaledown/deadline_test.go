package scaledown

import (
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestDeadlineIsRFC3339UTC(t *testing.T) {
	local := t0.In(time.FixedZone("CET", 3600))
	if got := Deadline(local, 30*time.Second); got != "2026-03-01T12:00:30Z" {
		t.Fatalf("got %q", got)
	}
	// Argo Rollouts writes whole seconds; sub-second parts are dropped.
	if got := Deadline(t0.Add(500*time.Millisecond), time.Minute); got != "2026-03-01T12:01:00Z" {
		t.Fatalf("got %q", got)
	}
}

func TestParseMark(t *testing.T) {
	cases := []struct {
		value   string
		want    Mark
		wantErr bool
	}{
		{"", Mark{}, false},
		{"2026-03-01T12:00:30Z", Mark{State: Marked, At: t0.Add(30 * time.Second)}, false},
		{"2026-03-01T13:00:30+01:00", Mark{State: Marked, At: t0.Add(30 * time.Second)}, false},
		{"tomorrow", Mark{State: Unreadable}, true},
		{"1740830430", Mark{State: Unreadable}, true},
	}
	for _, c := range cases {
		got, err := ParseMark(c.value)
		if (err != nil) != c.wantErr || got.State != c.want.State || !got.At.Equal(c.want.At) {
			t.Errorf("ParseMark(%q) = %+v, %v; want %+v, error %v", c.value, got, err, c.want, c.wantErr)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	m, err := MarkOf(map[string]string{v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey: Deadline(t0, 45*time.Second)})
	if err != nil || m.State != Marked || m.remaining(t0) != 45*time.Second {
		t.Fatalf("got %+v, %v", m, err)
	}
	if m, err := MarkOf(nil); err != nil || m.State != Unmarked {
		t.Fatalf("no annotations: %+v, %v", m, err)
	}
}

func TestRequeueKeepsEarliest(t *testing.T) {
	cases := []struct{ current, wait, want time.Duration }{
		{0, 0, 0},
		{0, 5 * time.Second, 5 * time.Second},
		{5 * time.Second, 0, 5 * time.Second},
		{5 * time.Second, 3 * time.Second, 3 * time.Second},
		{3 * time.Second, 5 * time.Second, 3 * time.Second},
		{3 * time.Second, -time.Second, 3 * time.Second},
	}
	for _, c := range cases {
		if got := requeue(c.current, c.wait); got != c.want {
			t.Errorf("requeue(%s, %s) = %s, want %s", c.current, c.wait, got, c.want)
		}
	}
}
