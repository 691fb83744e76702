package framework

import (
	"context"
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodStateAnnotation steers a pod on the local cluster's fake nodes; the kwok
// Stages in hack/localcluster/stages.yaml act on it. Put it on a pod template
// to affect every pod from it, or set it on one live pod with SetPodState.
const PodStateAnnotation = "test.aviary.dev/state"

// FastStartAnnotation, set to "true" on a pod template, makes its pods start
// (Running, and Ready unless a readiness probe delay or gate holds them) as
// soon as they are scheduled. Without it a pod starts about 1-1.5 s after it
// is scheduled, as a kubelet takes a moment to start containers: tests that
// wait for pods properly need not care; use it only where a test does not
// care about pod timing and must stay fast.
//
// Otherwise the fake nodes act on what a pod asks for, as a kubelet would
// show it (see hack/localcluster/stages.yaml): readinessProbe
// initialDelaySeconds and spec.readinessGates hold readiness, an image from
// a registry host ending in .invalid fails to pull (ErrImagePull, then
// ImagePullBackOff) and a malformed one is InvalidImageName, a container whose
// command runs "exit N" (N != 0) or "false" crash-loops, and a Job's
// container runs for the "sleep N" its command asks for and exits with its
// "exit N".
const FastStartAnnotation = "test.aviary.dev/fast"

// PodState is a value of PodStateAnnotation.
type PodState string

// The states a test can put a pod in.
const (
	// PodReady (the default): Running and Ready as its spec allows; a Job's
	// pod finishes as its command asks (succeeds by default).
	PodReady PodState = "ready"
	// PodUnready holds a pod Running with unready containers.
	PodUnready PodState = "unready"
	// PodFail fails the pod (exit code 1), Job pods included.
	PodFail PodState = "fail"
	// PodHold keeps a Job's pod Running until its state changes.
	PodHold PodState = "hold"
)

// SetPodState changes one live pod's state; kwok acts on it within a moment.
func SetPodState(t testing.TB, namespace, pod string, state PodState) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{PodStateAnnotation: string(state)}}})
	_, err := Get(t).Clientset.CoreV1().Pods(namespace).Patch(context.Background(), pod, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("set pod %s/%s to %s: %v", namespace, pod, state, err)
	}
}

// SetJobPodsState sets the state of every pod of a Job, e.g. to release held
// pods as succeeded (PodReady) or failed (PodFail).
func SetJobPodsState(t testing.TB, namespace, job string, state PodState) int {
	t.Helper()
	pods, err := Get(t).Clientset.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil {
		t.Fatalf("list pods of job %s/%s: %v", namespace, job, err)
	}
	for _, p := range pods.Items {
		SetPodState(t, namespace, p.Name, state)
	}
	return len(pods.Items)
}
