package foundation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// The tests in this file check that pods on the local cluster's fake nodes
// show what a kubelet would, as a user's tool reads it from pod status: the
// kwok Stages in hack/localcluster/stages.yaml.

// sighting is one state of a pod, as a watch delivered it, and when.
type sighting struct {
	at  time.Time
	pod *corev1.Pod
}

// podLog records every state of every pod of a namespace from before the test
// creates any, so a test can ask what came first and how long it lasted.
type podLog struct {
	mu   sync.Mutex
	seen []sighting
}

func watchPods(t *testing.T, ns string) *podLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := framework.Get(t).Clientset.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatalf("watch pods in %s: %v", ns, err)
	}
	l := &podLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted {
				l.mu.Lock()
				l.seen = append(l.seen, sighting{at: time.Now(), pod: p})
				l.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
	return l
}

// of returns the sightings of the pods whose name starts with prefix.
func (l *podLog) of(prefix string) []sighting {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sighting
	for _, s := range l.seen {
		if strings.HasPrefix(s.pod.Name, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// first is the first sighting of a pod named prefix* that satisfies cond.
func (l *podLog) first(prefix string, cond func(*corev1.Pod) bool) (sighting, bool) {
	for _, s := range l.of(prefix) {
		if cond(s.pod) {
			return s, true
		}
	}
	return sighting{}, false
}

// waitFirst waits until some pod named prefix* satisfies cond and returns
// the first sighting that did.
func (l *podLog) waitFirst(t *testing.T, timeout time.Duration, prefix, what string, cond func(*corev1.Pod) bool) sighting {
	t.Helper()
	var s sighting
	framework.Eventually(t, timeout, "pod "+prefix+" "+what, func() (bool, string) {
		var ok bool
		if s, ok = l.first(prefix, cond); ok {
			return true, ""
		}
		if all := l.of(prefix); len(all) > 0 {
			return false, "last seen: " + describePod(all[len(all)-1].pod)
		}
		return false, "no such pod seen"
	})
	return s
}

// history is the pod's states as a user would list them, for failure messages.
func (l *podLog) history(prefix string) string {
	var b strings.Builder
	all := l.of(prefix)
	for _, s := range all {
		fmt.Fprintf(&b, "\n  %s %s: %s", s.at.Sub(all[0].at).Round(time.Millisecond), s.pod.Name, describePod(s.pod))
	}
	return b.String()
}

func describePod(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s, node %q", p.Status.Phase, p.Spec.NodeName)
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, ", %s=%s", c.Type, c.Status)
		if c.Reason != "" {
			fmt.Fprintf(&b, "(%s)", c.Reason)
		}
	}
	for _, c := range p.Status.ContainerStatuses {
		fmt.Fprintf(&b, "; %s ready=%v restarts=%d", c.Name, c.Ready, c.RestartCount)
		switch s := c.State; {
		case s.Waiting != nil:
			fmt.Fprintf(&b, " waiting %s", s.Waiting.Reason)
		case s.Running != nil:
			b.WriteString(" running")
		case s.Terminated != nil:
			fmt.Fprintf(&b, " terminated %s exit %d", s.Terminated.Reason, s.Terminated.ExitCode)
		}
		if last := c.LastTerminationState.Terminated; last != nil {
			fmt.Fprintf(&b, " (last exit %d)", last.ExitCode)
		}
	}
	return b.String()
}

func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func conditionIs(p *corev1.Pod, t corev1.PodConditionType, s corev1.ConditionStatus) bool {
	c := condition(p, t)
	return c != nil && c.Status == s
}

func containerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func waitingReason(p *corev1.Pod, container string) string {
	if c := containerStatus(p, container); c != nil && c.State.Waiting != nil {
		return c.State.Waiting.Reason
	}
	return ""
}

func scheduled(p *corev1.Pod) bool { return p.Spec.NodeName != "" }

func createPod(t *testing.T, ns string, p *corev1.Pod) {
	t.Helper()
	if _, err := framework.Get(t).Clientset.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", p.Name, err)
	}
}

func fast() map[string]string { return map[string]string{framework.FastStartAnnotation: "true"} }

// TestPodsStartAfterAKubeletsDelay: a ReplicaSet's pods start Running and
// Ready about a second after they are scheduled, not at once; with the fast
// annotation on the template they start at once.
func TestPodsStartAfterAKubeletsDelay(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	log := watchPods(t, ns)
	rs := func(name string, annotations map[string]string) *appsv1.ReplicaSet {
		labels := map[string]string{"app": name}
		return &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: new(int32(2)),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.25"}}},
				},
			},
		}
	}
	for _, r := range []*appsv1.ReplicaSet{rs("slow", nil), rs("quick", fast())} {
		if _, err := framework.Get(t).Clientset.AppsV1().ReplicaSets(ns).Create(context.Background(), r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	framework.Eventually(t, 30*time.Second, "both ReplicaSets' pods ready", func() (bool, string) {
		for _, name := range []string{"slow", "quick"} {
			r, err := framework.Get(t).Clientset.AppsV1().ReplicaSets(ns).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if r.Status.ReadyReplicas != 2 {
				return false, fmt.Sprintf("%s: %d of 2 ready", name, r.Status.ReadyReplicas)
			}
		}
		return true, ""
	})

	// Each pod: from the first sighting on a node to the first sighting Ready.
	startup := map[string]time.Duration{}
	names := map[string]string{}
	for _, s := range log.of("") {
		names[s.pod.Name] = strings.SplitN(s.pod.Name, "-", 2)[0]
	}
	for pod, owner := range names {
		on, ok1 := log.first(pod, scheduled)
		ready, ok2 := log.first(pod, podReady)
		if !ok1 || !ok2 {
			t.Fatalf("pod %s never seen scheduled and ready:%s", pod, log.history(pod))
		}
		if on.pod.Status.Phase != corev1.PodPending || len(on.pod.Status.ContainerStatuses) != 0 {
			t.Errorf("pod %s was %s when scheduled, want Pending with no container started:%s", pod, describePod(on.pod), log.history(pod))
		}
		d := ready.at.Sub(on.at)
		startup[pod] = d
		switch owner {
		case "slow":
			// The stage waits 1-1.5 s after kwok sees the pod on its node
			// (the margin is for this watch seeing it later than kwok).
			if d < 700*time.Millisecond || d > 10*time.Second {
				t.Errorf("pod %s became Ready %s after it was scheduled, want about 1 s (a kubelet's start):%s", pod, d, log.history(pod))
			}
			// Nothing in between pretended the pod was ready.
			for _, s := range log.of(pod) {
				if s.at.Before(ready.at) && (s.pod.Status.Phase != corev1.PodPending || podReady(s.pod)) {
					t.Errorf("pod %s was %s before it started", pod, describePod(s.pod))
				}
			}
		case "quick":
			if d > 700*time.Millisecond {
				t.Errorf("pod %s (%s) became Ready %s after it was scheduled, want at once:%s", pod, framework.FastStartAnnotation, d, log.history(pod))
			}
		}
		p := ready.pod
		c := containerStatus(p, "app")
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.Status.StartTime == nil ||
			!conditionIs(p, corev1.ContainersReady, corev1.ConditionTrue) || c == nil || !c.Ready || c.State.Running == nil || c.RestartCount != 0 {
			t.Errorf("pod %s when Ready: %s, podIP %q, startTime %v; want Running with a running ready container and an IP", pod, describePod(p), p.Status.PodIP, p.Status.StartTime)
		}
	}
	if len(startup) != 4 {
		t.Fatalf("saw %d pods, want 4: %v", len(startup), startup)
	}
	t.Logf("scheduled to Ready: %v", startup)
}

// TestReadinessProbeInitialDelay: a container whose readiness probe has
// initialDelaySeconds 3 runs unready for about 3 s, then is ready; its
// sidecar without a probe is ready as it starts.
func TestReadinessProbeInitialDelay(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	log := watchPods(t, ns)
	probe := &corev1.Probe{InitialDelaySeconds: 3, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}}
	createPod(t, ns, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probed"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "nginx:1.25", ReadinessProbe: probe},
			{Name: "sidecar", Image: "busybox"},
		}},
	})
	running := log.waitFirst(t, 20*time.Second, "probed", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	p := running.pod
	app, side := containerStatus(p, "app"), containerStatus(p, "sidecar")
	if podReady(p) || !conditionIs(p, corev1.ContainersReady, corev1.ConditionFalse) || app == nil || app.Ready || app.State.Running == nil ||
		app.Started == nil || !*app.Started || side == nil || !side.Ready {
		t.Errorf("when it started: %s; want the probed container running but not ready, the sidecar ready, the pod not Ready", describePod(p))
	}
	ready := log.waitFirst(t, 20*time.Second, "probed", "Ready", podReady)
	d := ready.at.Sub(running.at)
	// A kubelet probes first at initialDelaySeconds after the start; the
	// stage makes it ready within the second after (the margin below is for
	// this watch seeing the start later than it happened).
	if d < 2500*time.Millisecond || d > 7*time.Second {
		t.Errorf("Ready %s after Running, want about 3 s (initialDelaySeconds):%s", d, log.history("probed"))
	}
	p = ready.pod
	if app := containerStatus(p, "app"); !conditionIs(p, corev1.ContainersReady, corev1.ConditionTrue) || app == nil || !app.Ready || app.State.Running == nil {
		t.Errorf("when Ready: %s; want ContainersReady and the container ready and running", describePod(p))
	}
	t.Logf("Running to Ready: %s", d)
}

// TestReadinessGatesHoldReadiness: a pod with a readiness gate is Ready only
// while the gate's condition, which someone else sets, is True.
func TestReadinessGatesHoldReadiness(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	log := watchPods(t, ns)
	const gate = "test.aviary.dev/load-balancer"
	createPod(t, ns, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gated", Annotations: fast()},
		Spec: corev1.PodSpec{
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: gate}},
			Containers:     []corev1.Container{{Name: "app", Image: "nginx:1.25"}},
		},
	})
	gatedOut := func(p *corev1.Pod) bool {
		r := condition(p, corev1.PodReady)
		return p.Status.Phase == corev1.PodRunning && conditionIs(p, corev1.ContainersReady, corev1.ConditionTrue) &&
			r != nil && r.Status == corev1.ConditionFalse && r.Reason == "ReadinessGatesNotReady"
	}
	log.waitFirst(t, 20*time.Second, "gated", "Running, containers ready, Ready False (ReadinessGatesNotReady)", gatedOut)
	// Nobody sets the gate: the pod stays unready.
	time.Sleep(2 * time.Second)
	for _, s := range log.of("gated") {
		if podReady(s.pod) || condition(s.pod, gate) != nil {
			t.Fatalf("pod Ready or its gate set with nobody setting it: %s", describePod(s.pod))
		}
	}

	setGate := func(status corev1.ConditionStatus) time.Time {
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []map[string]any{
			{"type": gate, "status": status, "lastTransitionTime": metav1.Now().UTC().Format(time.RFC3339)},
		}}})
		if _, err := framework.Get(t).Clientset.CoreV1().Pods(ns).Patch(context.Background(), "gated", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			t.Fatalf("set gate %s: %v", status, err)
		}
		return time.Now()
	}
	set := setGate(corev1.ConditionTrue)
	ready := log.waitFirst(t, 20*time.Second, "gated", "Ready once the gate is True", podReady)
	if d := ready.at.Sub(set); d > 5*time.Second {
		t.Errorf("Ready %s after the gate turned True, want at once", d)
	}
	setGate(corev1.ConditionFalse)
	framework.Eventually(t, 20*time.Second, "pod unready again once the gate is False", func() (bool, string) {
		p, err := framework.Get(t).Clientset.CoreV1().Pods(ns).Get(context.Background(), "gated", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return gatedOut(p), describePod(p)
	})
}

// TestImagesThatCannotExist: an image from a registry that cannot exist
// fails to pull (ErrImagePull, then ImagePullBackOff) and an image reference
// that is not valid is InvalidImageName; the pod stays Pending and unready.
// The same holds for a Job's pod, which then never finishes.
func TestImagesThatCannotExist(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	log := watchPods(t, ns)
	for name, image := range map[string]string{
		"unpullable": "registry.invalid/app:v1",
		"uppercase":  "registry.example.com/Team/App:v1",
		"spaces":     "nginx latest",
	} {
		createPod(t, ns, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: fast()},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
		})
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "check"},
		Spec: batchv1.JobSpec{
			BackoffLimit: new(int32(0)),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/checks/smoke:v1", Command: []string{"sh", "-c", "exit 0"}}}}},
		},
	}
	if _, err := framework.Get(t).Clientset.BatchV1().Jobs(ns).Create(context.Background(), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	notStarted := func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodPending && !podReady(p) && !conditionIs(p, corev1.ContainersReady, corev1.ConditionTrue)
	}
	for _, name := range []string{"unpullable", "check-"} {
		pull := log.waitFirst(t, 20*time.Second, name, "ErrImagePull", func(p *corev1.Pod) bool { return waitingReason(p, "app") == "ErrImagePull" })
		if !notStarted(pull.pod) || !strings.Contains(containerStatus(pull.pod, "app").State.Waiting.Message, "registry.invalid") {
			t.Errorf("pod %s at ErrImagePull: %s, message %q; want Pending, not Ready, a message naming the registry", name, describePod(pull.pod), containerStatus(pull.pod, "app").State.Waiting.Message)
		}
		backoff := log.waitFirst(t, 20*time.Second, name, "ImagePullBackOff", func(p *corev1.Pod) bool { return waitingReason(p, "app") == "ImagePullBackOff" })
		if !notStarted(backoff.pod) {
			t.Errorf("pod %s at ImagePullBackOff: %s; want Pending and not Ready", name, describePod(backoff.pod))
		}
		if !backoff.at.After(pull.at) {
			t.Errorf("pod %s: ImagePullBackOff before ErrImagePull:%s", name, log.history(name))
		}
	}
	for _, name := range []string{"uppercase", "spaces"} {
		s := log.waitFirst(t, 20*time.Second, name, "InvalidImageName", func(p *corev1.Pod) bool { return waitingReason(p, "app") == "InvalidImageName" })
		if !notStarted(s.pod) {
			t.Errorf("pod %s: %s; want Pending and not Ready", name, describePod(s.pod))
		}
	}
	// Nothing moves on: a few seconds later all are still waiting for their
	// images, and the Job has neither succeeded nor failed.
	time.Sleep(3 * time.Second)
	for _, name := range []string{"unpullable", "check-", "uppercase", "spaces"} {
		all := log.of(name)
		last := all[len(all)-1].pod
		want := map[string]string{"unpullable": "ImagePullBackOff", "check-": "ImagePullBackOff"}[name]
		if want == "" {
			want = "InvalidImageName"
		}
		if !notStarted(last) || waitingReason(last, "app") != want {
			t.Errorf("pod %s now: %s; want still Pending, waiting with %s", name, describePod(last), want)
		}
	}
	j, err := framework.Get(t).Clientset.BatchV1().Jobs(ns).Get(context.Background(), "check", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.Succeeded+j.Status.Failed != 0 || len(j.Status.Conditions) != 0 {
		t.Errorf("Job whose image cannot be pulled finished: %+v", j.Status)
	}
}

// TestCrashLoop: a container whose command fails, in a ReplicaSet's pod,
// crash-loops: the pod is Running but never Ready, the container waits in
// CrashLoopBackOff with its exit code in lastState and a growing restart
// count. A container beside it still runs and becomes ready.
func TestCrashLoop(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	log := watchPods(t, ns)
	exits := corev1.Container{Name: "app", Image: "busybox", Command: []string{"sh", "-c"}, Args: []string{"echo starting; exit 3"}}
	web := corev1.Container{Name: "web", Image: "nginx:1.25", ReadinessProbe: &corev1.Probe{InitialDelaySeconds: 1,
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}}}}
	for name, cs := range map[string][]corev1.Container{
		"exits":  {exits},
		"falsey": {{Name: "app", Image: "busybox", Command: []string{"false"}}},
		"beside": {exits, web},
	} {
		labels := map[string]string{"app": name}
		r := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: new(int32(1)),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: fast()},
					Spec:       corev1.PodSpec{Containers: cs},
				},
			},
		}
		if _, err := framework.Get(t).Clientset.AppsV1().ReplicaSets(ns).Create(context.Background(), r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name, code := range map[string]int32{"exits": 3, "falsey": 1, "beside": 3} {
		crashLooping := func(restarts int32) func(*corev1.Pod) bool {
			return func(p *corev1.Pod) bool {
				c := containerStatus(p, "app")
				return p.Status.Phase == corev1.PodRunning && c != nil && !c.Ready && c.State.Waiting != nil &&
					c.State.Waiting.Reason == "CrashLoopBackOff" && c.RestartCount >= restarts &&
					c.LastTerminationState.Terminated != nil && c.LastTerminationState.Terminated.ExitCode == code
			}
		}
		first := log.waitFirst(t, 20*time.Second, name+"-", "in CrashLoopBackOff, last exit code "+fmt.Sprint(code), crashLooping(1))
		again := log.waitFirst(t, 30*time.Second, name+"-", "restarted again", crashLooping(containerStatus(first.pod, "app").RestartCount+1))
		t.Logf("%s: CrashLoopBackOff with %d restarts, %d restarts %s later", name,
			containerStatus(first.pod, "app").RestartCount, containerStatus(again.pod, "app").RestartCount, again.at.Sub(first.at).Round(time.Millisecond))
		for _, s := range log.of(name + "-") {
			if podReady(s.pod) || s.pod.Status.Phase == corev1.PodFailed || s.pod.Status.Phase == corev1.PodSucceeded {
				t.Errorf("crash-looping pod %s was %s", name, describePod(s.pod))
			}
		}
	}
	log.waitFirst(t, 20*time.Second, "beside-", "web ready beside the crash loop", func(p *corev1.Pod) bool {
		c := containerStatus(p, "web")
		return c != nil && c.Ready && c.State.Running != nil && !podReady(p)
	})
}

// TestJobPodsRunTheirCommand: a Job's pod runs for the "sleep N" its command
// asks for and ends with the exit code it asks for.
func TestJobPodsRunTheirCommand(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	log := watchPods(t, ns)
	jobs := framework.Get(t).Clientset.BatchV1().Jobs(ns)
	cases := []struct {
		name          string
		command, args []string
		phase         corev1.PodPhase
		exit          int32
		min, max      time.Duration
	}{
		{"sleep-then-fail", []string{"sh", "-c"}, []string{"sleep 3; exit 1"}, corev1.PodFailed, 1, 2600 * time.Millisecond, 6 * time.Second},
		{"sleep", []string{"sleep", "2"}, nil, corev1.PodSucceeded, 0, 1600 * time.Millisecond, 5 * time.Second},
		{"no-sleep", []string{"sh", "-c", "exit 0"}, nil, corev1.PodSucceeded, 0, 0, 3 * time.Second},
	}
	for _, c := range cases {
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: c.name},
			Spec: batchv1.JobSpec{
				BackoffLimit: new(int32(0)),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "check", Image: "busybox", Command: c.command, Args: c.args}}}},
			},
		}
		if _, err := jobs.Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		running := log.waitFirst(t, 20*time.Second, c.name+"-", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		done := log.waitFirst(t, 20*time.Second, c.name+"-", string(c.phase), func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		})
		d := done.at.Sub(running.at)
		st := containerStatus(done.pod, "check")
		if done.pod.Status.Phase != c.phase || st == nil || st.State.Terminated == nil || st.State.Terminated.ExitCode != c.exit {
			t.Errorf("job %s's pod ended %s; want %s with exit code %d", c.name, describePod(done.pod), c.phase, c.exit)
		}
		if d < c.min || d > c.max {
			t.Errorf("job %s's pod ran %s, want between %s and %s:%s", c.name, d, c.min, c.max, log.history(c.name+"-"))
		}
		t.Logf("job %s: pod ran %s, %s", c.name, d.Round(time.Millisecond), describePod(done.pod))
		want := batchv1.JobComplete
		if c.phase == corev1.PodFailed {
			want = batchv1.JobFailed
		}
		framework.Eventually(t, 30*time.Second, "job "+c.name+" "+string(want), func() (bool, string) {
			j, err := jobs.Get(context.Background(), c.name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, cond := range j.Status.Conditions {
				if cond.Type == want && cond.Status == corev1.ConditionTrue {
					return true, ""
				}
			}
			return false, fmt.Sprintf("succeeded %d, failed %d", j.Status.Succeeded, j.Status.Failed)
		})
	}
}
