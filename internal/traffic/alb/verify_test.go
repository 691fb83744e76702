package alb

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic/alb/elbv2fake"
)

func verifier(t *testing.T, url string) *Verifier {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", url)
	t.Setenv("AWS_REGION", "us-west-2")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	v, err := NewVerifier(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func lbIngress(hostname string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "ingress", Namespace: "ns"}}
	if hostname != "" {
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: hostname}}
	}
	return ing
}

// TestVerify asks the stand-in, over the SDK's query protocol, for the
// weights of the target groups tagged with the canary's and stable's
// resource IDs, and compares.
func TestVerify(t *testing.T) {
	const dns = "k8s-ns-ingress-1234.us-west-2.elb.amazonaws.com"
	srv := elbv2fake.New("k8s-ns-ingress", dns,
		elbv2fake.Group{Name: "k8s-ns-canary", Tags: map[string]string{DefaultTagKey: "ns/ingress-canary:80"}, Weight: 0},
		elbv2fake.Group{Name: "k8s-ns-stable", Tags: map[string]string{DefaultTagKey: "ns/ingress-stable:80"}, Weight: 100},
		elbv2fake.Group{Name: "k8s-ns-exp", Tags: map[string]string{DefaultTagKey: "ns/ingress-exp:80"}, Weight: 0},
	)
	defer srv.Close()
	v := verifier(t, srv.URL)
	ro := albRollout(nil)
	ctx := context.Background()

	got, err := v.Verify(ctx, ro, lbIngress(dns), 30)
	if err != nil {
		t.Fatal(err)
	}
	if got.Verified || got.Waiting != "load balancer of Ingress ingress: canary: weight 0, want 30" {
		t.Errorf("weights differ: %+v", got)
	}
	srv.SetWeight("k8s-ns-canary", 30)
	srv.SetWeight("k8s-ns-stable", 70)
	got, err = v.Verify(ctx, ro, lbIngress(dns), 30)
	if err != nil {
		t.Fatal(err)
	}
	want := v1alpha1.ALBStatus{Ingress: "ingress",
		LoadBalancer:      v1alpha1.AwsResourceRef{Name: "k8s-ns-ingress", ARN: srv.LoadBalancerARN(), FullName: "k8s-ns-ingress/50dc6c495c0c9188"},
		CanaryTargetGroup: v1alpha1.AwsResourceRef{Name: "k8s-ns-canary", ARN: elbv2fake.GroupARN("k8s-ns-canary"), FullName: "k8s-ns-canary/73e2d6bc24d8a067"},
		StableTargetGroup: v1alpha1.AwsResourceRef{Name: "k8s-ns-stable", ARN: elbv2fake.GroupARN("k8s-ns-stable"), FullName: "k8s-ns-stable/73e2d6bc24d8a067"},
	}
	if !got.Verified || got.Waiting != "" || got.Status != want {
		t.Errorf("weights match:\n got %+v\nwant %+v", got, want)
	}
	if calls := strings.Join(srv.Calls(), ","); calls != "DescribeLoadBalancers,DescribeLoadBalancers,DescribeTargetGroups,DescribeTags,DescribeListeners,DescribeRules,"+
		"DescribeLoadBalancers,DescribeLoadBalancers,DescribeTargetGroups,DescribeTags,DescribeListeners,DescribeRules" {
		t.Errorf("calls %s", calls)
	}

	// An experiment's destination is verified too.
	got, err = v.Verify(ctx, ro, lbIngress(dns), 30, v1alpha1.WeightDestination{ServiceName: "exp", Weight: 10})
	if err != nil || got.Verified || got.Waiting != "load balancer of Ingress ingress: exp: weight 0, want 10" {
		t.Errorf("experiment weight differs: %+v %v", got, err)
	}
	// A service with no tagged target group is named.
	ro.Spec.Strategy.Canary.CanaryService = "missing"
	got, err = v.Verify(ctx, ro, lbIngress(dns), 30)
	if err != nil || got.Verified || !strings.Contains(got.Waiting, "missing: no weighted target group tagged ingress.k8s.aws/resource=ns/ingress-missing:80") {
		t.Errorf("untagged: %+v %v", got, err)
	}
	if errs := srv.Errors(); len(errs) > 0 {
		t.Errorf("malformed requests: %v", errs)
	}
}

func TestVerifyWaitsForLoadBalancer(t *testing.T) {
	srv := elbv2fake.New("lb", "lb.example")
	defer srv.Close()
	v := verifier(t, srv.URL)
	got, err := v.Verify(context.Background(), albRollout(nil), lbIngress(""), 10)
	if err != nil || got.Verified || got.Waiting != "Ingress ingress has no load balancer yet (status.loadBalancer has no hostname)" {
		t.Errorf("no hostname: %+v %v", got, err)
	}
	got, err = v.Verify(context.Background(), albRollout(nil), lbIngress("elsewhere.example"), 10)
	if err != nil || got.Verified || got.Waiting != "no load balancer named elsewhere.example (Ingress ingress) in AWS" {
		t.Errorf("unknown load balancer: %+v %v", got, err)
	}
}

// TestVerifyAPIError: AWS out of reach is an error naming what was read,
// never a verified weight.
func TestVerifyAPIError(t *testing.T) {
	srv := elbv2fake.New("lb", "lb.example")
	srv.Close()
	v := verifier(t, srv.URL)
	got, err := v.Verify(context.Background(), albRollout(nil), lbIngress("lb.example"), 10)
	if err == nil || got.Verified || !strings.Contains(err.Error(), "find the load balancer lb.example of Ingress ingress") {
		t.Errorf("%+v %v", got, err)
	}
}

// TestRegistered: every ready endpoint address must be registered at the
// pod port in the binding's target group; other targets are ignored, and
// bindings that do not target pods do not apply.
func TestRegistered(t *testing.T) {
	srv := elbv2fake.New("lb", "lb.example", elbv2fake.Group{Name: "stable-tg"})
	defer srv.Close()
	v := verifier(t, srv.URL)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "stable", Namespace: "ns"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("web")}}}}
	// Two ready pods, one terminating (not ready), in two slices.
	eps := []discoveryv1.EndpointSlice{
		{Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}, {Addresses: []string{"10.0.0.3"}, Conditions: discoveryv1.EndpointConditions{Ready: new(false)}}},
			Ports: []discoveryv1.EndpointPort{{Name: new("web"), Port: new(int32(8080))}}},
		{Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: new(true)}}},
			Ports: []discoveryv1.EndpointPort{{Name: new("web"), Port: new(int32(8080))}}},
	}
	b := Binding{Name: "tgb", TargetGroupARN: elbv2fake.GroupARN("stable-tg"), TargetType: "ip", Service: "stable", Port: intstr.FromString("http")}
	if !b.Binds(svc) {
		t.Fatal("the binding names the Service's http port")
	}
	ctx := context.Background()
	srv.SetTargets("stable-tg", "10.0.0.1:8080", "10.0.9.9:8080")
	r, err := v.Registered(ctx, b, svc, eps)
	if err != nil || !r.Applies || r.Registered != 1 || r.Total != 2 || r.Unregistered != "10.0.0.2:8080" {
		t.Fatalf("one of two: %+v %v", r, err)
	}
	srv.SetTargets("stable-tg", "10.0.0.1:8080", "10.0.0.2:8080")
	if r, err = v.Registered(ctx, b, svc, eps); err != nil || r.Registered != 2 || r.Total != 2 || r.Unregistered != "" {
		t.Fatalf("both: %+v %v", r, err)
	}
	b.TargetType = "instance"
	if r, err = v.Registered(ctx, b, svc, eps); err != nil || r.Applies {
		t.Fatalf("instance targets: %+v %v", r, err)
	}
	b.TargetType, b.TargetGroupARN = "ip", elbv2fake.GroupARN("missing")
	if _, err = v.Registered(ctx, b, svc, eps); err == nil || !strings.Contains(err.Error(), "TargetGroupBinding tgb") {
		t.Fatalf("unknown target group: %v", err)
	}
	if errs := srv.Errors(); len(errs) != 1 {
		t.Errorf("refused requests %v, want only the unknown target group", errs)
	}
}
