// Command traffic is the traffic-routing benchmark of the Rollout
// controller (make bench-traffic): on the local cluster it creates N
// Rollouts routed through NGINX, each with its own stable and canary
// Service and stable Ingress, and a 4-step canary (setWeight 25, 50, 75,
// 100 with 1 s pauses between). Once all are Healthy it changes every
// image at once and times the wave until every Rollout is Healthy on the
// new version, its stable Service selects the new pods and its canary
// Ingress is back at weight 0; then until the previous stables are scaled
// down after scaleDownDelaySeconds, which ends the update. It reports what
// bench/scale does (bench/internal/wave): wall times, the controller's API
// requests by verb and resource (as a proxy between it and the API server
// sees them) with their mean and peak rate, its CPU seconds and resident
// set, and the requests and writes per rollout, and writes per rollout
// step, against the design minimum.
//
// It is a benchmark, not a test: it prints figures and never fails on them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/bench/internal/wave"
	"github.com/aviary-rollouts/aviary/internal/traffic/nginx"
)

func main() { wave.Main("bench/traffic", run) }

// replicas is the size of each benchmark Rollout: with 4, each 25% step
// is exactly one pod, so the canary's pods match its share of traffic
// without rounding and every setWeight step scales the canary once.
const replicas = 4

// weightKey is the canary Ingress annotation holding the canary's weight.
const weightKey = "nginx.ingress.kubernetes.io/canary-weight"

func run() error {
	var argo wave.Argo
	c := wave.Parse("bench/traffic", 500, os.Args[1:], argo.Register)
	ctx := context.Background()
	if argo.Binary == "" {
		_, _, err := update(ctx, c, false)
		return err
	}
	oursWave, oursAll, err := update(ctx, c, true)
	if err != nil {
		return err
	}
	theirs, err := argo.Config(c)
	if err != nil {
		return err
	}
	theirsWave, theirsAll, err := update(ctx, theirs, false)
	if err != nil {
		return err
	}
	wave.PrintComparison(os.Stdout, "the wave (Healthy, routed, canary weight 0)", oursWave, theirsWave)
	wave.PrintComparison(os.Stdout, "the whole update (until the old stables are gone)", oursAll, theirsAll)
	return nil
}

// update runs one update with the controller of c, prints its report and
// returns the figures of its wave and of the whole update; with waitGone,
// once the namespace is gone (unless -keep), so that a run after it finds
// the cluster as this one did.
func update(ctx context.Context, c wave.Config, waitGone bool) (inWave, atRest wave.Figures, err error) {
	// A routed canary keeps the stable at full size, so at the peak of the
	// wave a rollout has 4 stable and 4 canary pods.
	env, err := wave.Setup(ctx, c, "bench/traffic", 2*replicas)
	if err != nil {
		return inWave, atRest, err
	}
	fmt.Printf("bench/traffic: each routed by NGINX, %d replicas, steps setWeight 25, pause 1s, setWeight 50, pause 1s, setWeight 75, pause 1s, setWeight 100\n", replicas)
	inWave, atRest, err = measure(ctx, env)
	env.Close()
	if err != nil {
		return inWave, atRest, err
	}
	report(os.Stdout, inWave, atRest)
	if waitGone {
		err = env.WaitGone(ctx)
	}
	return inWave, atRest, err
}

// measure puts env's Rollouts on their first version, then through the
// update wave until their old stables are gone.
func measure(ctx context.Context, env *wave.Env) (inWave, atRest wave.Figures, err error) {
	wait := func(color string) error { return waitAll(ctx, env, color) }
	if err := env.FirstVersions(ctx, func(i int) []client.Object { return objects(env.Namespace, i) }, wait); err != nil {
		return inWave, atRest, err
	}
	w, err := env.UpdateWave(ctx, "", wave.Color(1), wait)
	if err != nil {
		return inWave, atRest, err
	}
	defer w.End()
	inWave, err = w.Measure()
	if err != nil {
		return inWave, atRest, err
	}
	fmt.Printf("bench/traffic: %d rollouts Healthy on the new version and routed to it after %s; waiting for the old stables to go\n",
		env.N, inWave.Wall.Round(100*time.Millisecond))
	// The update ends when the previous stables, kept for
	// scaleDownDelaySeconds (30 s), are scaled down and their pods gone.
	err = env.WaitRollouts(ctx, func(ro *v1alpha1.Rollout) bool {
		return wave.HealthyOn(ro, wave.Color(1)) && ro.Status.Replicas == replicas && ro.Status.AvailableReplicas == replicas
	})
	if err != nil {
		return inWave, atRest, env.Failed("old stables scaled down", err)
	}
	w.Done()
	atRest, err = w.MeasureSettled()
	return inWave, atRest, err
}

// objects are the i-th benchmark Rollout and what it routes through: its
// stable and canary Services and a stable Ingress sending host
// <name>.bench to the stable Service. The Rollout comes last, so that it
// never sees its Services or Ingress missing.
//
// The Services are headless: the local cluster's service range (the
// API server's default /24) holds about 250 cluster IPs, and NGINX sends
// requests to a Service's endpoints, not to its cluster IP, so routing is
// the same.
func objects(ns string, i int) []client.Object {
	name := wave.Name(i)
	service := func(suffix string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name + suffix, Namespace: ns},
			Spec: corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone,
				Selector:  map[string]string{"app": name},
				Ports:     []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
			},
		}
	}
	pathType := networkingv1.PathTypePrefix
	ingress := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: networkingv1.IngressSpec{
			IngressClassName: new("nginx"),
			Rules: []networkingv1.IngressRule{{
				Host: name + ".bench",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &pathType,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: name + "-stable", Port: networkingv1.ServiceBackendPort{Number: 80},
						}},
					}},
				}},
			}},
		},
	}
	pause := v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}}
	ro := wave.Rollout(ns, i, replicas, &v1alpha1.CanaryStrategy{
		CanaryService:  name + "-canary",
		StableService:  name + "-stable",
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: name}},
		Steps: []v1alpha1.CanaryStep{
			{SetWeight: new(int32(25))}, pause,
			{SetWeight: new(int32(50))}, pause,
			{SetWeight: new(int32(75))}, pause,
			{SetWeight: new(int32(100))},
		},
	})
	return []client.Object{service("-stable"), service("-canary"), ingress, ro}
}

// steps is the number of canary steps of each benchmark Rollout.
const steps = 7

// waitAll waits until every Rollout is Healthy on color's image as stable,
// then until every stable Service selects that version's pods and every
// canary Ingress is at weight 0: all traffic on the stable, the stable the
// new version.
func waitAll(ctx context.Context, env *wave.Env, color string) error {
	if err := env.WaitRollouts(ctx, func(ro *v1alpha1.Rollout) bool {
		return wave.HealthyOn(ro, color)
	}); err != nil {
		return err
	}
	return env.Poll(func() (bool, string, error) {
		var rollouts v1alpha1.RolloutList
		var services corev1.ServiceList
		var ingresses networkingv1.IngressList
		for _, list := range []client.ObjectList{&rollouts, &services, &ingresses} {
			if err := env.List(ctx, list); err != nil {
				return false, "", err
			}
		}
		selects := map[string]string{}
		for _, svc := range services.Items {
			selects[svc.Name] = svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
		}
		weights := map[string]string{}
		for _, ing := range ingresses.Items {
			weights[ing.Name] = ing.Annotations[weightKey]
		}
		routed := 0
		for _, ro := range rollouts.Items {
			cs := ro.Spec.Strategy.Canary
			stable := ro.Status.StableRS
			if stable != "" && selects[cs.StableService] == stable && selects[cs.CanaryService] == stable &&
				weights[nginx.CanaryIngressName(ro.Name, cs.TrafficRouting.Nginx.StableIngress)] == "0" {
				routed++
			}
		}
		return routed == env.N, fmt.Sprintf("%d of %d rollouts routed to their stable alone", routed, env.N), nil
	})
}

// minimum is the fewest requests one Rollout's update needs, 34: 24
// object writes and 10 Events; see bench/README.md for the derivation.
var minimum = wave.Minimum{
	"create replicasets":    1,
	"patch replicasets":     5,
	"patch services":        2,
	"patch ingresses":       5,
	"patch rollouts":        1,
	"patch rollouts/status": 10,
	"create events":         10,
}

func report(w io.Writer, inWave, atRest wave.Figures) {
	atRest.PrintRequests(w, "API requests by the controller from the image change until the old stables are gone", minimum)
	atRest.PrintSummary(w, "whole update", minimum, steps)
	t := inWave.Tally()
	wave.Line(w, "wall time of the wave", "%8.1f s  (Healthy on the new version, routed to it, canary weight 0)", inWave.Wall.Seconds())
	wave.Line(w, "controller CPU in the wave", "%8.1f s", inWave.CPU)
	wave.Line(w, "request rate in the wave, mean / peak", "%8.1f /s  (peak %.1f /s over 1 s, %.1f /s over 2 s)",
		inWave.Rate.Mean, inWave.Rate.Peak1s, inWave.Rate.Peak2s)
	wave.Line(w, "object writes per rollout in the wave", "%8.2f  (the rest: the old stables scaled down)", t.Objects/float64(inWave.N))
}
