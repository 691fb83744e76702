package job

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// pullFailureReasons are the waiting reasons of a container whose image
// cannot be had: the kubelet retries them forever, so the Job would never
// finish.
var pullFailureReasons = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true}

// PullFailure looks for a container of the Job's pods that cannot get its
// image and describes the first one found (pods by name, init containers
// before the others): the pod, the container, the reason, the image and
// the kubelet's message. It returns "" when every image is there or still
// being pulled.
func PullFailure(jobName string, pods []corev1.Pod) string {
	sorted := make([]*corev1.Pod, 0, len(pods))
	for i := range pods {
		sorted = append(sorted, &pods[i])
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, pod := range sorted {
		statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
		for _, cs := range statuses {
			w := cs.State.Waiting
			if w == nil || !pullFailureReasons[w.Reason] {
				continue
			}
			msg := fmt.Sprintf("Job %s cannot start: pod %s container %q: %s for image %q", jobName, pod.Name, cs.Name, w.Reason, cs.Image)
			if w.Message != "" {
				msg += ": " + w.Message
			}
			return msg + "; fix the image in the metric's job spec (provider.job.spec.template)"
		}
	}
	return ""
}

// Poll bounds for a Job whose pods have not all started.
const (
	minPoll = time.Second
	maxPoll = 10 * time.Second
)

// PollAfter is how soon to look at the pods of a Job again while some are
// not running yet (being scheduled, pulling images, or failing to): no
// Job event reports a pod stuck on its image, so only a look at the pods
// finds it. The interval grows with the Job's age, half of it, from 1 s
// to 10 s: a Job whose pods start at once is looked at again soon (and its
// completion, which a timed resume defers, is not held back for long), and
// one stuck for minutes costs one pod List per 10 s.
func PollAfter(age time.Duration) time.Duration {
	return min(max(age/2, minPoll), maxPoll)
}
