package replicas

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Cases from upstream TestResolveFenceposts (string bounds; nil is 0).
func TestResolveFenceposts(t *testing.T) {
	str := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	cases := []struct {
		maxSurge, maxUnavailable *intstr.IntOrString
		replicas                 int32
		want                     Fenceposts
		wantErr                  bool
	}{
		{str("0%"), str("0%"), 0, Fenceposts{0, 1}, false},
		{str("39%"), str("39%"), 10, Fenceposts{4, 3}, false},
		{str("oops"), str("39%"), 10, Fenceposts{0, 0}, true},
		{str("55%"), str("urg"), 10, Fenceposts{0, 0}, true},
		{nil, str("39%"), 10, Fenceposts{0, 3}, false},
		{str("39%"), nil, 10, Fenceposts{4, 0}, false},
		{nil, nil, 10, Fenceposts{0, 1}, false},
	}
	for n, c := range cases {
		got, err := resolveFenceposts(c.maxSurge, c.maxUnavailable, c.replicas)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("#%d: got %+v, %v; want %+v, error %v", n, got, err, c.want, c.wantErr)
		}
	}
}

// Canary cases from upstream TestMaxSurge and TestMaxUnavailable (the
// blue-green cases are not canary math), then the lenient-string rule.
func TestCanaryFenceposts(t *testing.T) {
	i, s := intstr.FromInt32, intstr.FromString
	cases := []struct {
		name                     string
		replicas                 int32
		maxSurge, maxUnavailable intstr.IntOrString
		want                     Fenceposts
	}{
		{"maxSurge with int", 10, i(5), i(1), Fenceposts{5, 1}},
		{"maxSurge with percents", 10, s("50%"), i(1), Fenceposts{5, 1}},
		{"maxUnavailable less than replicas", 10, i(1), i(5), Fenceposts{1, 5}},
		{"maxUnavailable equal replicas", 10, i(1), i(10), Fenceposts{1, 10}},
		{"maxUnavailable greater than replicas", 5, i(1), i(10), Fenceposts{1, 5}},
		{"maxUnavailable with replicas is 0", 0, i(1), i(10), Fenceposts{1, 0}},
		{"maxUnavailable less than replicas with percents", 10, i(1), s("50%"), Fenceposts{1, 5}},
		{"maxUnavailable equal replicas with percents", 10, i(1), s("100%"), Fenceposts{1, 10}},
		{"maxUnavailable greater than replicas with percents", 5, i(1), s("100%"), Fenceposts{1, 5}},
		// Not upstream tables: the lenient reading of strings.
		{"defaults are 25%", 10, s(v1alpha1.DefaultMaxSurge), s(v1alpha1.DefaultMaxUnavailable), Fenceposts{3, 2}},
		{"string without % is a percentage", 10, s("3"), s("3"), Fenceposts{1, 0}},
		{"every % is dropped", 10, s("5%0"), s("%20%"), Fenceposts{5, 2}},
		{"surge rounds up, unavailable down", 7, s("10%"), s("20%"), Fenceposts{1, 1}},
		{"both round to zero: one may be unavailable", 3, s("0%"), s("25%"), Fenceposts{0, 1}},
		{"both zero with no replicas: none unavailable", 0, s("0%"), s("0%"), Fenceposts{0, 0}},
		{"int surge is not capped", 2, i(5), i(0), Fenceposts{5, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CanaryFenceposts(c.replicas, c.maxSurge, c.maxUnavailable)
			if err != nil || got != c.want {
				t.Errorf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	if got, err := CanaryFenceposts(10, s("1%"), s("ten")); err == nil || got != (Fenceposts{}) {
		t.Errorf("unparsable maxUnavailable: got %+v, %v", got, err)
	}
}
