package job

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func waiting(name, image, reason, msg string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Image: image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
}

func running(name, image string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Image: image, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func pod(name string, init, containers []corev1.ContainerStatus) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: init, ContainerStatuses: containers}}
}

func TestPullFailure(t *testing.T) {
	const fix = "; fix the image in the metric's job spec (provider.job.spec.template)"
	tests := []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{"no pods yet", nil, ""},
		{"not started (no statuses)", []corev1.Pod{pod("p", nil, nil)}, ""},
		{"still creating", []corev1.Pod{pod("p", nil, []corev1.ContainerStatus{waiting("check", "busybox", "ContainerCreating", "")})}, ""},
		{"running", []corev1.Pod{pod("p", nil, []corev1.ContainerStatus{running("check", "busybox")})}, ""},
		{"ErrImagePull", []corev1.Pod{pod("p", nil, []corev1.ContainerStatus{waiting("check", "registry.invalid/metric:v1", "ErrImagePull", "no such host")})},
			`Job j cannot start: pod p container "check": ErrImagePull for image "registry.invalid/metric:v1": no such host` + fix},
		{"ImagePullBackOff", []corev1.Pod{pod("p", nil, []corev1.ContainerStatus{waiting("check", "registry.invalid/metric:v1", "ImagePullBackOff", `Back-off pulling image "registry.invalid/metric:v1"`)})},
			`Job j cannot start: pod p container "check": ImagePullBackOff for image "registry.invalid/metric:v1": Back-off pulling image "registry.invalid/metric:v1"` + fix},
		{"InvalidImageName without a message", []corev1.Pod{pod("p", nil, []corev1.ContainerStatus{waiting("check", "Bad Image", "InvalidImageName", "")})},
			`Job j cannot start: pod p container "check": InvalidImageName for image "Bad Image"` + fix},
		{"an init container's image", []corev1.Pod{pod("p", []corev1.ContainerStatus{waiting("setup", "x.invalid/a", "ErrImagePull", "")}, []corev1.ContainerStatus{waiting("check", "busybox", "PodInitializing", "")})},
			`Job j cannot start: pod p container "setup": ErrImagePull for image "x.invalid/a"` + fix},
		{"the first pod by name", []corev1.Pod{
			pod("b", nil, []corev1.ContainerStatus{waiting("check", "b.invalid/x", "ErrImagePull", "")}),
			pod("a", nil, []corev1.ContainerStatus{waiting("check", "a.invalid/x", "ImagePullBackOff", "")}),
		}, `Job j cannot start: pod a container "check": ImagePullBackOff for image "a.invalid/x"` + fix},
		{"a crash is not a pull failure", []corev1.Pod{pod("p", nil, []corev1.ContainerStatus{waiting("check", "busybox", "CrashLoopBackOff", "")})}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PullFailure("j", tt.pods); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPollAfter(t *testing.T) {
	for _, tt := range []struct{ age, want time.Duration }{
		{0, time.Second},
		{500 * time.Millisecond, time.Second},
		{4 * time.Second, 2 * time.Second},
		{20 * time.Second, 10 * time.Second},
		{time.Hour, 10 * time.Second},
	} {
		if got := PollAfter(tt.age); got != tt.want {
			t.Errorf("PollAfter(%s) = %s, want %s", tt.age, got, tt.want)
		}
	}
}
