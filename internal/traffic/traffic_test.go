package traffic

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// fake records its calls in a shared log and fails when told to.
type fake struct {
	name     string
	log      *[]string
	fail     error
	verified *bool
}

func (f *fake) record(call string) error {
	*f.log = append(*f.log, f.name+"."+call)
	return f.fail
}

func (f *fake) UpdateHash(_ context.Context, canary, stable string, additional ...WeightDestination) error {
	return f.record(fmt.Sprintf("UpdateHash(%s,%s,%d)", canary, stable, len(additional)))
}

func (f *fake) SetWeight(_ context.Context, weight int32, additional ...WeightDestination) error {
	return f.record(fmt.Sprintf("SetWeight(%d,%d)", weight, len(additional)))
}

func (f *fake) SetHeaderRoute(_ context.Context, route *v1alpha1.SetHeaderRoute) error {
	return f.record("SetHeaderRoute(" + route.Name + ")")
}

func (f *fake) SetMirrorRoute(_ context.Context, route *v1alpha1.SetMirrorRoute) error {
	return f.record("SetMirrorRoute(" + route.Name + ")")
}

func (f *fake) VerifyWeight(_ context.Context, weight int32, _ ...WeightDestination) (*bool, error) {
	return f.verified, f.record(fmt.Sprintf("VerifyWeight(%d)", weight))
}

func (f *fake) RemoveManagedRoutes(context.Context) error { return f.record("RemoveManagedRoutes") }

func (f *fake) Type() string { return f.name }

func routers(log *[]string, names ...string) (Routers, []*fake) {
	var rs Routers
	var fakes []*fake
	for _, n := range names {
		f := &fake{name: n, log: log}
		rs = append(rs, f)
		fakes = append(fakes, f)
	}
	return rs, fakes
}

func TestRoutersCallEachInOrder(t *testing.T) {
	var log []string
	rs, _ := routers(&log, TypeIstio, TypeNginx)
	ctx := context.Background()
	extra := WeightDestination{Weight: 5, ServiceName: "exp"}
	steps := []error{
		rs.UpdateHash(ctx, "c", "s", extra),
		rs.SetWeight(ctx, 20, extra),
		rs.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "h"}),
		rs.SetMirrorRoute(ctx, &v1alpha1.SetMirrorRoute{Name: "m"}),
		rs.RemoveManagedRoutes(ctx),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Istio.UpdateHash(c,s,1)", "Nginx.UpdateHash(c,s,1)",
		"Istio.SetWeight(20,1)", "Nginx.SetWeight(20,1)",
		"Istio.SetHeaderRoute(h)", "Nginx.SetHeaderRoute(h)",
		"Istio.SetMirrorRoute(m)", "Nginx.SetMirrorRoute(m)",
		"Istio.RemoveManagedRoutes", "Nginx.RemoveManagedRoutes",
	}
	if !slices.Equal(log, want) {
		t.Fatalf("calls %v\nwant  %v", log, want)
	}
	if got := rs.Type(); got != "Istio,Nginx" {
		t.Fatalf("Type() = %q", got)
	}
}

func TestRoutersStopAtFirstError(t *testing.T) {
	var log []string
	rs, fakes := routers(&log, TypeIstio, TypeALB, TypeSMI)
	boom := errors.New("boom")
	fakes[1].fail = boom
	err := rs.SetWeight(context.Background(), 50)
	if !errors.Is(err, boom) || err.Error() != "ALB: boom" {
		t.Fatalf("err = %v", err)
	}
	if want := []string{"Istio.SetWeight(50,0)", "ALB.SetWeight(50,0)"}; !slices.Equal(log, want) {
		t.Fatalf("calls %v, want %v", log, want)
	}
}

func TestRoutersVerifyWeight(t *testing.T) {
	cases := []struct {
		name    string
		answers []*bool
		want    *bool
	}{
		{"no routers", nil, nil},
		{"none can verify", []*bool{nil, nil}, nil},
		{"the one that can says yes", []*bool{nil, new(true)}, new(true)},
		{"all that can say yes", []*bool{new(true), nil, new(true)}, new(true)},
		{"one says no", []*bool{new(true), new(false), nil}, new(false)},
		{"no stays no", []*bool{new(false), new(true)}, new(false)},
	}
	for _, c := range cases {
		var log []string
		var rs Routers
		for i, a := range c.answers {
			rs = append(rs, &fake{name: fmt.Sprint(i), log: &log, verified: a})
		}
		got, err := rs.VerifyWeight(context.Background(), 100)
		if err != nil || (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
		}
		if len(log) != len(c.answers) {
			t.Errorf("%s: every router should be asked, got %v", c.name, log)
		}
	}
}

func TestRoutersVerifyWeightError(t *testing.T) {
	var log []string
	rs, fakes := routers(&log, TypeALB, TypeSMI)
	fakes[0].verified, fakes[0].fail = new(true), errors.New("throttled")
	got, err := rs.VerifyWeight(context.Background(), 100)
	if got != nil || err == nil || err.Error() != "ALB: throttled" || len(log) != 1 {
		t.Fatalf("got %v, %v after %v", got, err, log)
	}
}
