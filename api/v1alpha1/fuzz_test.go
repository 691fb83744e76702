package v1alpha1_test

import (
	"math"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// FuzzPauseDurationSeconds reads a pause step's duration, as an integer
// (asInt) or a string, the form the validator checks and the canary plan
// waits on. Properties: no panic, and the result is exact: the integer;
// the string's digits; a Go duration's whole seconds, truncated toward
// zero; -1 for anything else, and for a duration too long for int32
// seconds (about 68 years), so no platform reads it as a short or
// negative pause of its own making.
func FuzzPauseDurationSeconds(f *testing.F) {
	for _, s := range []struct {
		s     string
		n     int32
		asInt bool
	}{
		{"", 30, true}, {"", -5, true}, {"45", 0, false}, {"2m", 0, false}, {"1h30m", 0, false},
		{"1.5s", 0, false}, {"soon", 0, false}, {"", 0, false}, {"30s", 0, false}, {"10m", 0, false},
		{"1h2x", 0, false}, {"-5", 0, false}, {"-500ms", 0, false}, {"99999999999", 0, false},
		{"+10", 0, false}, {"0x10", 0, false}, {"1e3s", 0, false},
	} {
		f.Add(s.s, s.n, s.asInt)
	}
	f.Fuzz(func(t *testing.T, s string, n int32, asInt bool) {
		d := intstr.FromString(s)
		want := int32(-1)
		if asInt {
			d, want = intstr.FromInt32(n), n
		} else if i, err := strconv.ParseInt(s, 10, 32); err == nil {
			want = int32(i)
		} else if dur, err := time.ParseDuration(s); err == nil && dur/time.Second >= math.MinInt32 && dur/time.Second <= math.MaxInt32 {
			want = int32(dur / time.Second)
		}
		if got := (v1alpha1.RolloutPause{Duration: &d}).DurationSeconds(); got != want {
			t.Fatalf("DurationSeconds(%v) = %d, want %d", d.String(), got, want)
		}
	})
}
