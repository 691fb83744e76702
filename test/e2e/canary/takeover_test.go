package canary

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/podhash"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// takeoverRollout is a basic canary Argo Rollouts was running: revision 2
// (green) at its first pause, 1 of 5 pods, revision 1 (blue) stable.
const takeoverRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: takeover
  annotations:
    rollout.argoproj.io/revision: "2"
spec:
  replicas: 5
  revisionHistoryLimit: 2
  selector:
    matchLabels: {app: takeover}
  template:
    metadata:
      labels: {app: takeover}
      annotations: {"` + framework.FastStartAnnotation + `": "true"}
    spec:
      containers:
      - name: app
        image: argoproj/rollouts-demo:green
        ports: [{name: http, containerPort: 8080}]
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 60
      - pause: {duration: 2}
`

// argoReplicaSet is the ReplicaSet Argo Rollouts creates for template at
// revision: named and labelled by the hash, annotated with the revision and
// the desired replicas, controlled by the Rollout.
func argoReplicaSet(ro *v1alpha1.Rollout, template corev1.PodTemplateSpec, hash, revision string, replicas int32) *appsv1.ReplicaSet {
	t := *template.DeepCopy()
	t.Labels = map[string]string{}
	for k, v := range template.Labels {
		t.Labels[k] = v
	}
	t.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	sel := ro.Spec.Selector.DeepCopy()
	sel.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: ro.Name + "-" + hash, Namespace: ro.Namespace, Labels: t.Labels,
			Annotations: map[string]string{
				v1alpha1.RevisionAnnotation:        revision,
				v1alpha1.DesiredReplicasAnnotation: fmt.Sprint(*ro.Spec.Replicas),
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: sel, Template: t},
	}
}

// podLog records every pod creation and deletion (or deletion request) in
// a namespace from a list's resourceVersion on.
type podLog struct {
	mu      sync.Mutex
	changes []string
}

func (l *podLog) watch(t *testing.T, ns, fromRV string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := framework.Get(t).Clientset.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: fromRV})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			var change string
			switch {
			case ev.Type == watch.Added:
				change = "created " + p.Name
			case ev.Type == watch.Deleted:
				change = "deleted " + p.Name
			case p.DeletionTimestamp != nil:
				change = "deleting " + p.Name
			default:
				continue
			}
			l.mu.Lock()
			l.changes = append(l.changes, change)
			l.mu.Unlock()
		}
	}()
}

func (l *podLog) seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.changes...)
}

// reconciles is how many reconciles of ns's rollouts the controller's
// rollout_reconcile histogram has counted.
func reconciles(t *testing.T, ctl *framework.Controller, ns string) string {
	t.Helper()
	resp, err := http.Get("http://" + ctl.MetricsAddr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "rollout_reconcile_count{") && strings.Contains(line, `namespace="`+ns+`"`) {
			return line[strings.LastIndex(line, " ")+1:]
		}
	}
	return ""
}

// TestTakeOverArgoRolloutMidCanary builds, by hand, a canary exactly as
// Argo Rollouts leaves it paused at its first step — the Rollout with its
// revision annotation and Argo's status, and the two ReplicaSets
// <rollout>-<hash> with Argo's labels, annotations and controller
// reference, their pods running — and only then starts Aviary. Aviary must
// take it over where Argo stopped: no pod created or deleted, no new
// ReplicaSet, still paused at step 1 on the same hashes; a promote then
// carries it to Healthy on the new ReplicaSet, keeping its pod, and only
// then do the old pods go.
func TestTakeOverArgoRolloutMidCanary(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	applyYAML(t, ns, takeoverRollout)
	var ro v1alpha1.Rollout
	if err := e.Client.Get(ctx, framework.Key(ns, "takeover"), &ro); err != nil {
		t.Fatal(err)
	}
	// The hashes Argo computed from the stored templates: revision 2's is
	// the Rollout's; revision 1's was the same with the blue image.
	green := podhash.PodTemplateHash(&ro.Spec.Template, nil)
	blueTemplate := *ro.Spec.Template.DeepCopy()
	blueTemplate.Spec.Containers[0].Image = "argoproj/rollouts-demo:blue"
	blue := podhash.PodTemplateHash(&blueTemplate, nil)
	stepHash := podhash.StepHash(ro.Spec.Strategy.Canary.Steps)

	// The status Argo Rollouts v1.9 writes at the first pause of a basic
	// canary (no traffic router, so no canary weights).
	since := time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339)
	cond := func(typ, status, reason, msg string) map[string]any {
		return map[string]any{"type": typ, "status": status, "reason": reason, "message": msg,
			"lastUpdateTime": since, "lastTransitionTime": since}
	}
	status := map[string]any{
		"HPAReplicas": 5, "replicas": 5, "updatedReplicas": 1, "readyReplicas": 5, "availableReplicas": 5,
		"selector": "app=takeover", "observedGeneration": fmt.Sprint(ro.Generation),
		"currentPodHash": green, "stableRS": blue, "currentStepHash": stepHash, "currentStepIndex": 1,
		"pauseConditions": []any{map[string]any{"reason": "CanaryPauseStep", "startTime": since}},
		"controllerPause": true, "phase": "Paused", "message": "CanaryPauseStep",
		"blueGreen": map[string]any{}, "canary": map[string]any{},
		"conditions": []any{
			cond("Available", "True", "AvailableReason", "Rollout has minimum availability"),
			cond("Completed", "False", "RolloutCompleted", "RolloutCompleted"),
			cond("Healthy", "False", "RolloutHealthy", "Rollout is not healthy"),
			cond("Paused", "True", "RolloutPaused", "Rollout is paused"),
			cond("Progressing", "Unknown", "RolloutPaused", "Rollout is paused"),
		},
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Client.Status().Patch(ctx, &ro, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatalf("write Argo's status: %v", err)
	}
	for _, rs := range []*appsv1.ReplicaSet{
		argoReplicaSet(&ro, blueTemplate, blue, "1", 4),
		argoReplicaSet(&ro, ro.Spec.Template, green, "2", 1),
	} {
		if err := e.Client.Create(ctx, rs); err != nil {
			t.Fatalf("create ReplicaSet %s: %v", rs.Name, err)
		}
	}
	var pods corev1.PodList
	framework.Eventually(t, 60*time.Second, "Argo's 5 pods ready (4 blue, 1 green)", func() (bool, string) {
		if err := e.Client.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		byHash := map[string]int{}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					byHash[p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]]++
				}
			}
		}
		return len(pods.Items) == 5 && byHash[blue] == 4 && byHash[green] == 1, fmt.Sprintf("%d pods, ready by hash %v", len(pods.Items), byHash)
	})
	greenPods := map[types.UID]string{}
	for _, p := range pods.Items {
		if p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == green {
			greenPods[p.UID] = p.Name
		}
	}
	var log podLog
	log.watch(t, ns, pods.ResourceVersion)

	ctl := framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	framework.Eventually(t, 30*time.Second, "Aviary reconciled the rollout", func() (bool, string) {
		n := reconciles(t, ctl, ns)
		return n != "" && n != "0", "rollout_reconcile_count " + n
	})
	// Held there: watched for a while, nothing moves.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ro, spec, avail := rolloutState(t, ns, "takeover")
		idx := int32(-1)
		if ro.Status.CurrentStepIndex != nil {
			idx = *ro.Status.CurrentStepIndex
		}
		paused := len(ro.Status.PauseConditions) == 1 && ro.Status.PauseConditions[0].Reason == v1alpha1.PauseReasonCanaryPauseStep
		if ro.Status.CurrentPodHash != green || ro.Status.StableRS != blue || ro.Status.CurrentStepHash != stepHash || idx != 1 || !paused ||
			ro.Status.Phase != v1alpha1.RolloutPhasePaused || len(spec) != 2 || spec[green] != 1 || spec[blue] != 4 {
			t.Fatalf("Aviary did not keep Argo's state: pauseConditions %v, stepHash %s (want %s); %s",
				ro.Status.PauseConditions, ro.Status.CurrentStepHash, stepHash, describe(ro, spec, avail))
		}
		if ro.Annotations[v1alpha1.RevisionAnnotation] != "2" {
			t.Fatalf("revision annotation %q, want \"2\"", ro.Annotations[v1alpha1.RevisionAnnotation])
		}
		if changes := log.seen(); len(changes) > 0 {
			t.Fatalf("pods changed while taking over a paused rollout: %v", changes)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// `kubectl argo rollouts promote`.
	framework.PatchRolloutStatus(t, ns, "takeover", `{"status":{"pauseConditions":null}}`)
	framework.Eventually(t, 90*time.Second, "green stable and Healthy, blue scaled to zero", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "takeover")
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == green && ro.Status.CurrentPodHash == green &&
			spec[green] == 5 && avail[green] == 5 && spec[blue] == 0 && len(spec) == 2
		return ok, describe(ro, spec, avail)
	})
	if err := e.Client.List(ctx, &pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, p := range pods.Items {
		if _, ok := greenPods[p.UID]; ok && p.DeletionTimestamp == nil {
			kept++
		}
	}
	if kept != len(greenPods) {
		t.Errorf("the canary's pods %v were replaced during the promotion", greenPods)
	}
	for _, c := range log.seen() {
		for _, name := range greenPods {
			if c == "deleting "+name || c == "deleted "+name {
				t.Errorf("green pod %s: %s", name, c)
			}
		}
	}
}
