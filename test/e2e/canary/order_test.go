package canary

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const orderManifest = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: held
spec:
  metrics:
  - name: held
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            metadata:
              annotations: {"` + framework.PodStateAnnotation + `": hold}
            spec:
              restartPolicy: Never
              containers: [{name: check, image: busybox, command: [sh, -c, "exit 0"]}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 2
  selector:
    matchLabels: {app: order}
  template:
    metadata:
      labels: {app: order}
    spec:
      containers: [{name: app, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      canaryMetadata:
        labels: {role: canary}
      stableMetadata:
        labels: {role: stable}
      analysis:
        startingStep: 1
        templates: [{templateName: held}]
      steps:
      - setWeight: 50
      - pause: {}
`

// versionLog keeps every version of the namespace's Rollout and pods the
// API server sent, in the order of their resourceVersions (one etcd
// sequence), so a test can ask what the world looked like when a status
// was written.
type versionLog struct {
	mu       sync.Mutex
	rollouts []*v1alpha1.Rollout
	pods     []*corev1.Pod
}

func rv(o metav1.Object) int64 {
	n, _ := strconv.ParseInt(o.GetResourceVersion(), 10, 64)
	return n
}

func (l *versionLog) watch(t *testing.T, ns string) {
	t.Helper()
	e := framework.Get(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	gvr := v1alpha1.GroupVersion.WithResource("rollouts")
	rw, err := e.Dynamic.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch rollouts: %v", err)
	}
	pw, err := e.Clientset.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	go func() {
		for ev := range rw.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			var ro v1alpha1.Rollout
			if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ro) == nil {
				l.mu.Lock()
				l.rollouts = append(l.rollouts, &ro)
				l.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev := range pw.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted {
				l.mu.Lock()
				l.pods = append(l.pods, p)
				l.mu.Unlock()
			}
		}
	}()
}

// podsAt is each pod's latest version stored before resourceVersion at.
func (l *versionLog) podsAt(at int64) map[string]*corev1.Pod {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]*corev1.Pod{}
	for _, p := range l.pods {
		if rv(p) < at && (out[p.Name] == nil || rv(out[p.Name]) < rv(p)) {
			out[p.Name] = p
		}
	}
	return out
}

func (l *versionLog) rolloutVersions() []*v1alpha1.Rollout {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*v1alpha1.Rollout(nil), l.rollouts...)
}

// TestStatusIsWrittenAfterTheWork checks every status version the API
// server stored: none says "paused at step 1" while the background
// analysis due from step 1 is not running yet, and none says Healthy on
// the promoted version while its pods still carry the canary's metadata.
// (Both used to be written a reconcile early.)
func TestStatusIsWrittenAfterTheWork(t *testing.T) {
	ns, _ := scopedNamespace(t)
	var log versionLog
	log.watch(t, ns)
	applyYAML(t, ns, orderManifest)
	blue := waitForFirstVersion(t, ns, 2)
	setImage(t, ns, "argoproj/rollouts-demo:green")
	var green string
	framework.Eventually(t, 60*time.Second, "paused at step 1 with the background run", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		green = ro.Status.CurrentPodHash
		return green != blue && ro.Status.Phase == v1alpha1.RolloutPhasePaused && ro.Status.Canary.CurrentBackgroundAnalysisRunStatus != nil, describe(ro, spec, avail)
	})
	patchStatus(t, ns, `{"status":{"promoteFull":true}}`)
	var healthyRV int64
	framework.Eventually(t, 60*time.Second, "green Healthy", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		healthyRV = rv(ro)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == green, describe(ro, spec, avail)
	})
	framework.Eventually(t, 10*time.Second, "the watch to deliver the Healthy version", func() (bool, string) {
		vs := log.rolloutVersions()
		return len(vs) > 0 && rv(vs[len(vs)-1]) >= healthyRV, "not yet"
	})

	checkedPause, checkedHealthy := false, false
	for _, ro := range log.rolloutVersions() {
		st := ro.Status
		if st.CurrentPodHash != green {
			continue
		}
		if st.Phase == v1alpha1.RolloutPhasePaused && st.CurrentStepIndex != nil && *st.CurrentStepIndex >= 1 {
			checkedPause = true
			if st.Canary.CurrentBackgroundAnalysisRunStatus == nil {
				t.Errorf("resourceVersion %s says paused at step %d with no background AnalysisRun (startingStep 1)", ro.ResourceVersion, *st.CurrentStepIndex)
			}
		}
		if st.Phase == v1alpha1.RolloutPhaseHealthy && st.StableRS == green && !checkedHealthy {
			checkedHealthy = true
			for name, p := range log.podsAt(rv(ro)) {
				if p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == green && p.DeletionTimestamp == nil && p.Labels["role"] != "stable" {
					t.Errorf("resourceVersion %s says Healthy on %s while pod %s is labelled role=%q", ro.ResourceVersion, green, name, p.Labels["role"])
				}
			}
		}
	}
	if !checkedPause || !checkedHealthy {
		t.Fatalf("the watch saw no paused (%v) or Healthy (%v) version of the update; versions: %d", checkedPause, checkedHealthy, len(log.rolloutVersions()))
	}
}
