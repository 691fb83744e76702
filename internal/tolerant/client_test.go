package tolerant

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// refusing is a typed client that cannot decode what it reads, as the
// real one cannot when one object of the list is malformed.
type refusing struct{ client.Client }

var errDecode = errors.New("quantities must match the regular expression")

func (refusing) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errDecode
}

func (refusing) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errDecode
}

func TestClientLeavesOutWhatItCannotRead(t *testing.T) {
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{rollouts: "RolloutList"},
		rollout(t, "good", "64Mi", nil), rollout(t, "bad", "invalid", nil))
	var skipped []string
	c := &Client{Client: refusing{}, Dynamic: dc, Skipped: func(kind, ns, name string, err *DecodeError) {
		skipped = append(skipped, kind+" "+ns+"/"+name+": "+err.Error())
	}}
	var list v1alpha1.RolloutList
	if err := c.List(context.Background(), &list, client.InNamespace("ns")); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "good" {
		t.Fatalf("want only the good rollout, got %d items", len(list.Items))
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "Rollout ns/bad: spec.template.spec.containers[1].resources.requests.memory") {
		t.Fatalf("skipped %q", skipped)
	}
	var ro v1alpha1.Rollout
	err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "bad"}, &ro)
	if err == nil || !strings.Contains(err.Error(), "Rollout ns/bad cannot be read: spec.template.spec.containers[1].resources.requests.memory") {
		t.Fatalf("get of the malformed rollout: %v", err)
	}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "good"}, &ro); err != nil || ro.Name != "good" {
		t.Fatalf("get of the good rollout: %v %q", err, ro.Name)
	}
}
