package foundation

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TestTestsCanSteerPods proves the framework's pod controls on the fake
// nodes: a pod held unready stays unready until released, a failed pod
// fails, and a Job's pod can be held, then made to succeed or fail.
func TestTestsCanSteerPods(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	pods := e.Clientset.CoreV1().Pods(ns)

	newPod := func(name string, state framework.PodState) {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{framework.PodStateAnnotation: string(state)}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitPod := func(name, what string, cond func(*corev1.Pod) bool) {
		framework.Eventually(t, 20*time.Second, "pod "+name+" "+what, func() (bool, string) {
			p, err := pods.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return cond(p), fmt.Sprintf("phase %s, ready %v", p.Status.Phase, podReady(p))
		})
	}

	newPod("held", framework.PodUnready)
	newPod("fails", framework.PodFail)
	waitPod("held", "Running but unready", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning && !podReady(p) })
	waitPod("fails", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	framework.SetPodState(t, ns, "held", framework.PodReady)
	waitPod("held", "Ready after release", podReady)

	jobs := e.Clientset.BatchV1().Jobs(ns)
	newJob := func(name string) {
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.JobSpec{
				BackoffLimit: new(int32(0)),
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{framework.PodStateAnnotation: string(framework.PodHold)}},
					Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
						Containers: []corev1.Container{{Name: "check", Image: "busybox"}}},
				},
			},
		}
		if _, err := jobs.Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitJob := func(name string, want batchv1.JobConditionType) {
		framework.Eventually(t, 30*time.Second, "job "+name+" "+string(want), func() (bool, string) {
			j, err := jobs.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, c := range j.Status.Conditions {
				if c.Type == want && c.Status == corev1.ConditionTrue {
					return true, ""
				}
			}
			return false, fmt.Sprintf("active %d, succeeded %d, failed %d", j.Status.Active, j.Status.Succeeded, j.Status.Failed)
		})
	}
	for name, state := range map[string]framework.PodState{"passes": framework.PodReady, "breaks": framework.PodFail} {
		newJob(name)
		framework.Eventually(t, 20*time.Second, "a running pod of job "+name, func() (bool, string) {
			l, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + name})
			if err != nil || len(l.Items) == 0 || l.Items[0].Status.Phase != corev1.PodRunning {
				return false, "no running pod yet"
			}
			return true, ""
		})
		// Held: the Job must still be running, not finished on its own.
		if j, err := jobs.Get(ctx, name, metav1.GetOptions{}); err != nil || j.Status.Succeeded+j.Status.Failed != 0 {
			t.Fatalf("held job %s finished before release: %+v, %v", name, j.Status, err)
		}
		framework.SetJobPodsState(t, ns, name, state)
	}
	waitJob("passes", batchv1.JobComplete)
	waitJob("breaks", batchv1.JobFailed)
}
