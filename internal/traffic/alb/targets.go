package alb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Binding is the part of an AWS Load Balancer Controller
// TargetGroupBinding (elbv2.k8s.aws) that registration checks read.
type Binding struct {
	Name           string
	TargetGroupARN string
	// TargetType is "ip" or "instance"; only ip targets are the pods.
	TargetType string
	Service    string
	Port       intstr.IntOrString
}

// BindingOf reads a TargetGroupBinding.
func BindingOf(u *unstructured.Unstructured) Binding {
	b := Binding{Name: u.GetName()}
	b.TargetGroupARN, _, _ = unstructured.NestedString(u.Object, "spec", "targetGroupARN")
	b.TargetType, _, _ = unstructured.NestedString(u.Object, "spec", "targetType")
	b.Service, _, _ = unstructured.NestedString(u.Object, "spec", "serviceRef", "name")
	if p, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "serviceRef", "port"); ok {
		switch v := p.(type) {
		case string:
			b.Port = intstr.FromString(v)
		case int64:
			b.Port = intstr.FromInt32(int32(v))
		case float64:
			b.Port = intstr.FromInt32(int32(v))
		}
	}
	return b
}

// Binds reports whether b targets a port of svc.
func (b Binding) Binds(svc *corev1.Service) bool {
	if b.Service != svc.Name {
		return false
	}
	return slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool {
		return (b.Port.Type == intstr.Int && b.Port.IntVal == p.Port) || (b.Port.Type == intstr.String && b.Port.StrVal != "" && b.Port.StrVal == p.Name)
	})
}

// targetPort is the pod port behind b's Service port: the Service's
// numeric targetPort, or the endpoint slices' port of that name. 0 when
// none.
func (b Binding) targetPort(svc *corev1.Service, eps []discoveryv1.EndpointSlice) int32 {
	for _, p := range svc.Spec.Ports {
		if !((b.Port.Type == intstr.Int && b.Port.IntVal == p.Port) || (b.Port.Type == intstr.String && b.Port.StrVal == p.Name)) {
			continue
		}
		if p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal > 0 {
			return p.TargetPort.IntVal
		}
		name := p.TargetPort.String()
		for _, s := range eps {
			for _, ep := range s.Ports {
				if ep.Name != nil && *ep.Name == name && ep.Port != nil {
					return *ep.Port
				}
			}
		}
	}
	return 0
}

// Registration is what a registration check found on one target group.
type Registration struct {
	// Applies is false for bindings whose targets are not the pods
	// (targetType other than ip) or whose port matches no Service port.
	Applies               bool
	Registered, Total     int
	TargetGroupARN        string
	Service, Unregistered string
}

// Registered checks that every ready address of the Service's endpoint
// slices is registered, at the pod port, in b's target group
// (DescribeTargetHealth): the load balancer sends the Service's traffic
// to the pods the Service now selects. Health is not looked at, only
// registration, as Argo Rollouts checks it.
func (v *Verifier) Registered(ctx context.Context, b Binding, svc *corev1.Service, eps []discoveryv1.EndpointSlice) (Registration, error) {
	r := Registration{TargetGroupARN: b.TargetGroupARN, Service: svc.Name}
	if b.TargetType != "ip" {
		return r, nil
	}
	port := b.targetPort(svc, eps)
	if port == 0 {
		return r, nil
	}
	r.Applies = true
	want := map[string]bool{}
	for _, s := range eps {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, ip := range ep.Addresses {
				want[fmt.Sprintf("%s:%d", ip, port)] = false
			}
		}
	}
	out, err := v.API.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: &b.TargetGroupARN})
	if err != nil {
		return r, fmt.Errorf("describe the targets of target group %s (TargetGroupBinding %s): %w", b.TargetGroupARN, b.Name, err)
	}
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil || d.Target.Id == nil || d.Target.Port == nil {
			continue
		}
		// Targets of pods no longer behind the Service are ignored.
		k := fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port))
		if _, ok := want[k]; ok {
			want[k] = true
		}
	}
	var missing []string
	for k, seen := range want {
		if seen {
			r.Registered++
		} else {
			missing = append(missing, k)
		}
	}
	r.Total = len(want)
	slices.Sort(missing)
	r.Unregistered = strings.Join(missing, ", ")
	return r, nil
}
