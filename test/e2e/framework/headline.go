package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// HeadlineRollout is the name of seed 01's Rollout (and of its stable
// Service and Ingress).
const HeadlineRollout = "canary-demo"

// Headline is seed 01 (the headline scenario) running in its own namespace
// against a real Prometheus that scrapes a traffic simulator: the
// simulator splits requests by the canary Ingress weight the controller
// writes, and each version fails at its pod template's ERROR_RATE. Only
// the pauses are changed (see StartHeadline); the query, its 60 s rate
// window and the 10 s measurement interval are the seed's.
type Headline struct {
	t          testing.TB
	Env        *Env
	Namespace  string
	Sim        *TrafficSimulator
	Prometheus *Prometheus
	Controller *Controller
}

// seedPause is each of the seed's four pause steps, whatever its indentation.
var seedPause = regexp.MustCompile(`pause:\s*\n\s*duration: 2m\b`)

// StartHeadline applies seed 01 in a fresh namespace with its own
// controller, simulator and Prometheus, and returns once blue is Healthy
// with no traffic on a canary. pause is what each two-minute pause
// becomes: a duration ("30s") keeps tests short, "" makes each pause wait
// for a promote, so a test can look at a step for as long as it needs.
func StartHeadline(t testing.TB, pause string) *Headline {
	t.Helper()
	e := Get(t)
	h := &Headline{t: t, Env: e, Namespace: Namespace(t)}
	h.Sim = StartTrafficSimulator(t, h.Namespace, HeadlineRollout)
	h.Prometheus = StartPrometheus(t, h.Sim.Addr)
	h.Controller = StartController(t, "--leader-elect=false", "--namespaced", "--namespace", h.Namespace)
	raw, err := os.ReadFile(filepath.Join(e.RepoRoot, "..", "shared", "examples", "seeds", "01-progressive-nginx.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	step := "pause: {}"
	if pause != "" {
		step = "pause: {duration: " + pause + "}"
	}
	seed := seedPause.ReplaceAll(raw, []byte(step))
	seed = bytes.ReplaceAll(seed, []byte("http://prometheus-kube-prometheus-prometheus.prometheus:9090"), []byte(h.Prometheus.Address))
	if out, err := e.KubectlStdin(context.Background(), seed, "apply", "-n", h.Namespace, "-f", "-"); err != nil {
		t.Fatalf("apply seed 01: %v\n%s", err, out)
	}
	Eventually(t, 60*time.Second, "blue Healthy with no traffic on a canary", func() (bool, string) {
		ro := h.Rollout()
		w := h.CanaryWeight()
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && (w == "none" || w == "0"), fmt.Sprintf("%s %q, canary weight %s", ro.Status.Phase, ro.Status.Message, w)
	})
	return h
}

// Rollout is the Rollout as the API server has it now (empty if unreadable).
func (h *Headline) Rollout() *v1alpha1.Rollout {
	var ro v1alpha1.Rollout
	_ = h.Env.Client.Get(context.Background(), Key(h.Namespace, HeadlineRollout), &ro)
	return &ro
}

// CanaryWeight is the canary Ingress's canary-weight, or "none".
func (h *Headline) CanaryWeight() string {
	var in networkingv1.Ingress
	if err := h.Env.Client.Get(context.Background(), Key(h.Namespace, "canary-demo-canary-demo-canary"), &in); err != nil {
		return "none"
	}
	return in.Annotations["nginx.ingress.kubernetes.io/canary-weight"]
}

// Runs are the namespace's AnalysisRuns.
func (h *Headline) Runs() []v1alpha1.AnalysisRun {
	var list v1alpha1.AnalysisRunList
	_ = h.Env.Client.List(context.Background(), &list, client.InNamespace(h.Namespace))
	return list.Items
}

// StableSelector is the pod-template hash the stable Service selects.
func (h *Headline) StableSelector() string {
	var svc corev1.Service
	_ = h.Env.Client.Get(context.Background(), Key(h.Namespace, HeadlineRollout), &svc)
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
}

// Update sends the new version: image, and ERROR_RATE when errorRate > 0.
func (h *Headline) Update(image string, errorRate int) {
	h.t.Helper()
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}`, image)
	if errorRate > 0 {
		patch += fmt.Sprintf(`,{"op":"add","path":"/spec/template/spec/containers/0/env","value":[{"name":"ERROR_RATE","value":"%d"}]}`, errorRate)
	}
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: h.Namespace, Name: HeadlineRollout}}
	if err := h.Env.Client.Patch(context.Background(), ro, client.RawPatch(types.JSONPatchType, []byte(patch+"]"))); err != nil {
		h.t.Fatalf("update rollout: %v", err)
	}
}
