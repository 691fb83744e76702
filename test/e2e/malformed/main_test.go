// Package malformed checks end to end that an argoproj.io object the
// controller's Go types refuse (the CRD schema accepts it) is reported on
// itself and stops nothing else.
package malformed

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// startController runs a controller scoped to ns and waits until it
// answers /readyz: a malformed object must not keep it from starting.
func startController(t *testing.T, ns string) *framework.Controller {
	t.Helper()
	c := framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	framework.Eventually(t, 60*time.Second, "the controller ready", func() (bool, string) {
		if c.Exited() {
			t.Fatalf("the controller exited:\n%s", c.Output())
		}
		resp, err := http.Get("http://" + c.HealthAddr + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return c
}

var resources = map[string]string{
	"Rollout": "rollouts", "AnalysisRun": "analysisruns", "AnalysisTemplate": "analysistemplates", "Experiment": "experiments",
}

// create writes the YAML documents into ns through the dynamic client: the
// typed client cannot even encode a malformed object.
func create(t *testing.T, ns string, docs ...string) {
	t.Helper()
	for _, doc := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("parse %s: %v", doc, err)
		}
		gvr := v1alpha1.GroupVersion.WithResource(resources[u.GetKind()])
		if _, err := framework.Get(t).Dynamic.Resource(gvr).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// read returns the object as stored, undecodable or not.
func read(t *testing.T, ns, kind, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := framework.Get(t).Dynamic.Resource(v1alpha1.GroupVersion.WithResource(resources[kind])).Namespace(ns).
		Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s: %v", kind, name, err)
	}
	return u
}

func status(u *unstructured.Unstructured, field string) string {
	s, _, _ := unstructured.NestedString(u.Object, "status", field)
	return s
}

// invalidSpec is the message of the object's InvalidSpec condition, if any.
func invalidSpec(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == string(v1alpha1.InvalidSpec) && m["status"] == "True" {
			msg, _ := m["message"].(string)
			return msg
		}
	}
	return ""
}

// waitForWarning waits for a Warning event with reason InvalidSpec on the
// named object whose message contains field.
func waitForWarning(t *testing.T, ns, kind, name, field string) corev1.Event {
	t.Helper()
	var found corev1.Event
	framework.Eventually(t, 30*time.Second, fmt.Sprintf("an InvalidSpec event on %s %s naming %s", kind, name, field), func() (bool, string) {
		list, err := framework.Get(t).Clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
			FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == v1alpha1.InvalidSpecReason && strings.Contains(e.Message, field) {
				found = e
				return true, ""
			}
			seen = append(seen, e.Type+" "+e.Reason+" "+e.Message)
		}
		return false, fmt.Sprintf("events: %q", seen)
	})
	return found
}

func typedRollout(t *testing.T, ns, name string) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, name), &ro); err != nil {
		t.Fatalf("get rollout %s: %v", name, err)
	}
	return &ro
}

// waitForUpdate waits until the rollout runs image, all steps done, Healthy.
func waitForUpdate(t *testing.T, ns, name, image string, timeout time.Duration) {
	t.Helper()
	framework.Eventually(t, timeout, fmt.Sprintf("rollout %s Healthy on %s", name, image), func() (bool, string) {
		ro := typedRollout(t, ns, name)
		st := ro.Status
		done := st.Phase == v1alpha1.RolloutPhaseHealthy && st.StableRS != "" && st.StableRS == st.CurrentPodHash &&
			st.ObservedGeneration == fmt.Sprint(ro.Generation) && ro.Spec.Template.Spec.Containers[0].Image == image
		return done, fmt.Sprintf("phase %s %q stable %s current %s observed %s/%d", st.Phase, st.Message, st.StableRS, st.CurrentPodHash, st.ObservedGeneration, ro.Generation)
	})
}

// stays checks that, once reported, the object is left alone for d and
// has one event: the report's own status write comes back through the
// watch and must not be reported again.
func stays(t *testing.T, ns, kind, name string, d time.Duration) {
	t.Helper()
	rv := read(t, ns, kind, name).GetResourceVersion()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if now := read(t, ns, kind, name).GetResourceVersion(); now != rv {
			t.Fatalf("%s %s keeps being written (resource version %s, then %s)", kind, name, rv, now)
		}
	}
	list, err := framework.Get(t).Clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name + ",reason=" + v1alpha1.InvalidSpecReason})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Count != 1 {
		var seen []string
		for _, e := range list.Items {
			seen = append(seen, fmt.Sprintf("%dx %s", e.Count, e.Message))
		}
		t.Errorf("want one InvalidSpec event on %s %s, got %q", kind, name, seen)
	}
}
