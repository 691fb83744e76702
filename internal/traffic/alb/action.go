// Package alb splits a canary's traffic through the AWS Load Balancer
// Controller: the weights go into the actions annotation of the user's
// Ingress, which that controller turns into a weighted forward action on
// the load balancer's listener rule. The annotations are written in the
// shape Argo Rollouts writes them (keys, field names and order, the port
// as a string, the managed-annotations bookkeeping), since the load
// balancer controller and Argo Rollouts itself read them.
package alb

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
)

// Annotation names and values.
const (
	// DefaultAnnotationPrefix is the load balancer controller's prefix,
	// used when alb.annotationPrefix is empty.
	DefaultAnnotationPrefix = "alb.ingress.kubernetes.io"
	// ManagedAnnotations lists, per Rollout, the annotation keys the
	// Rollout wrote on the Ingress: {"<rollout>":["<key>",...]}.
	ManagedAnnotations = "rollouts.argoproj.io/managed-alb-annotations"
	// LegacyManagedActions is the older bookkeeping annotation
	// ("<rollout>:<key>,..."), which Argo Rollouts drops when it rewrites
	// the managed annotations of a deleted Rollout.
	LegacyManagedActions = "rollouts.argoproj.io/managed-alb-actions"
	// useAnnotation is the backend port name that tells the load balancer
	// controller to take the path's action from the actions annotation.
	useAnnotation = "use-annotation"
	// maxStickiness is the longest target-group stickiness AWS accepts.
	maxStickiness = 604800
)

// Action is a listener rule action as the load balancer controller reads
// it from an actions annotation. Field names and order are the wire
// format.
type Action struct {
	Type          string        `json:"Type"`
	ForwardConfig ForwardConfig `json:"ForwardConfig"`
}

// ForwardConfig lists the weighted target groups of a forward action.
type ForwardConfig struct {
	TargetGroups                []TargetGroup `json:"TargetGroups"`
	TargetGroupStickinessConfig *Stickiness   `json:"TargetGroupStickinessConfig,omitempty"`
}

// Stickiness keeps a client on one target group for DurationSeconds.
type Stickiness struct {
	Enabled         bool  `json:"Enabled"`
	DurationSeconds int64 `json:"DurationSeconds"`
}

// TargetGroup is a Service and port with its share of the requests.
type TargetGroup struct {
	ServiceName string `json:"ServiceName,omitempty"`
	ServicePort string `json:"ServicePort,omitempty"`
	Weight      *int64 `json:"Weight,omitempty"`
}

// Condition is a listener rule condition; these keys are lower camel
// case, unlike the action's, as the load balancer controller reads them.
type Condition struct {
	Field            string           `json:"field"`
	HttpHeaderConfig HttpHeaderConfig `json:"httpHeaderConfig"`
}

// HttpHeaderConfig matches a header against any of Values.
type HttpHeaderConfig struct {
	HttpHeaderName string   `json:"httpHeaderName"`
	Values         []string `json:"values"`
}

func routing(ro *v1alpha1.Rollout) *v1alpha1.ALBTrafficRouting {
	return ro.Spec.Strategy.Canary.TrafficRouting.ALB
}

// Ingresses are the Ingresses the Rollout annotates: alb.ingresses when
// set, else alb.ingress.
func Ingresses(ro *v1alpha1.Rollout) []string {
	if a := routing(ro); a.Ingresses != nil {
		return a.Ingresses
	}
	return []string{routing(ro).Ingress}
}

// RootService is the Service whose Ingress path carries the weighted
// action: alb.rootService, else the stable Service.
func RootService(ro *v1alpha1.Rollout) string {
	if s := routing(ro).RootService; s != "" {
		return s
	}
	return ro.Spec.Strategy.Canary.StableService
}

func key(ro *v1alpha1.Rollout, kind, name string) string {
	prefix := routing(ro).AnnotationPrefix
	if prefix == "" {
		prefix = DefaultAnnotationPrefix
	}
	return prefix + "/" + kind + "." + name
}

// ActionKey is the annotation holding the weighted action:
// <prefix>/actions.<rootService>.
func ActionKey(ro *v1alpha1.Rollout) string { return key(ro, "actions", RootService(ro)) }

// RouteKeys are the action and condition annotations of header route name.
func RouteKeys(ro *v1alpha1.Rollout, name string) (action, condition string) {
	return key(ro, "actions", name), key(ro, "conditions", name)
}

// stickiness is the spec's stickiness, or nil when it is off.
func stickiness(ro *v1alpha1.Rollout) (*Stickiness, error) {
	s := routing(ro).StickinessConfig
	if s == nil || !s.Enabled {
		return nil, nil
	}
	if s.DurationSeconds < 1 || s.DurationSeconds > maxStickiness {
		return nil, fmt.Errorf("stickinessConfig.durationSeconds %d is outside 1..%d, the range AWS accepts", s.DurationSeconds, maxStickiness)
	}
	return &Stickiness{Enabled: true, DurationSeconds: s.DurationSeconds}, nil
}

func group(service string, port int32, weight int32) TargetGroup {
	return TargetGroup{ServiceName: service, ServicePort: strconv.Itoa(int(port)), Weight: new(int64(weight))}
}

func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// ForwardAction is the value of ActionKey at canary weight: the canary
// Service first, then each additional destination, then the stable Service
// with the rest of 100. With pingPong the ping and pong Services take the
// stable and canary roles as status.canary.stablePingPong says.
func ForwardAction(ro *v1alpha1.Rollout, weight int32, additional ...v1alpha1.WeightDestination) (string, error) {
	stableService, canaryService := services.ForRouter(ro, true)
	port := routing(ro).ServicePort
	groups := []TargetGroup{group(canaryService, port, weight)}
	stable := 100 - weight
	for _, d := range additional {
		groups = append(groups, group(d.ServiceName, port, d.Weight))
		stable -= d.Weight
	}
	groups = append(groups, group(stableService, port, stable))
	sticky, err := stickiness(ro)
	if err != nil {
		return "", err
	}
	return encode(Action{Type: "forward", ForwardConfig: ForwardConfig{TargetGroups: groups, TargetGroupStickinessConfig: sticky}})
}

// HeaderAction is the value of a header route's action annotation: every
// matching request to the canary Service.
func HeaderAction(ro *v1alpha1.Rollout) (string, error) {
	sticky, err := stickiness(ro)
	if err != nil {
		return "", err
	}
	_, canaryService := services.ForRouter(ro, true)
	g := group(canaryService, routing(ro).ServicePort, 100)
	return encode(Action{Type: "forward", ForwardConfig: ForwardConfig{TargetGroups: []TargetGroup{g}, TargetGroupStickinessConfig: sticky}})
}

// HeaderConditions is the value of a header route's conditions annotation:
// one http-header condition per header name, its exact values merged in
// the order the matches list them.
func HeaderConditions(route *v1alpha1.SetHeaderRoute) (string, error) {
	var out []Condition
	for _, m := range route.Match {
		value := ""
		if m.HeaderValue != nil {
			value = m.HeaderValue.Exact
		}
		i := slices.IndexFunc(out, func(c Condition) bool { return c.HttpHeaderConfig.HttpHeaderName == m.HeaderName })
		if i >= 0 {
			out[i].HttpHeaderConfig.Values = append(out[i].HttpHeaderConfig.Values, value)
			continue
		}
		out = append(out, Condition{Field: "http-header", HttpHeaderConfig: HttpHeaderConfig{HttpHeaderName: m.HeaderName, Values: []string{value}}})
	}
	return encode(out)
}

func parseManaged(annotations map[string]string) (map[string][]string, error) {
	managed := map[string][]string{}
	if v := annotations[ManagedAnnotations]; v != "" {
		if err := json.Unmarshal([]byte(v), &managed); err != nil {
			return nil, fmt.Errorf("annotation %s is not a JSON map of rollout names to annotation keys: %w", ManagedAnnotations, err)
		}
	}
	return managed, nil
}

// withManaged records (add) or forgets keys as rollout's in the managed
// annotations of annotations, which it changes in place.
func withManaged(annotations map[string]string, rollout string, add bool, keys ...string) error {
	managed, err := parseManaged(annotations)
	if err != nil {
		return err
	}
	mine := managed[rollout]
	if mine == nil {
		mine = []string{}
	}
	for _, k := range keys {
		has := slices.Contains(mine, k)
		switch {
		case add && !has:
			mine = append(mine, k)
		case !add && has:
			mine = slices.DeleteFunc(mine, func(s string) bool { return s == k })
		}
	}
	managed[rollout] = mine
	v, err := encode(managed)
	if err != nil {
		return err
	}
	annotations[ManagedAnnotations] = v
	return nil
}
