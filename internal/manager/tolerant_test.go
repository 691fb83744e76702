package manager

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
)

func stored(kind, ns, name, instance, memory string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "image": "nginx", "resources": map[string]any{"requests": map[string]any{"memory": memory}}},
		}}}},
	}}
	if instance != "" {
		u.SetLabels(map[string]string{v1alpha1.LabelControllerInstanceID: instance})
	}
	if ns == "" {
		unstructured.RemoveNestedField(u.Object, "metadata", "namespace")
	}
	return u
}

// TestTolerantInformersKeepTheCacheScope: the replaced ListerWatcher read
// one namespace and the instance's objects; the tolerant one must too.
func TestTolerantInformersKeepTheCacheScope(t *testing.T) {
	o := &Options{Namespaced: true, Namespace: "team", InstanceID: "blue"}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), tolerant.ListKinds(),
		stored("Rollout", "team", "mine", "blue", "64Mi"),
		stored("Rollout", "team", "broken", "blue", "invalid"),
		stored("Rollout", "team", "other-instance", "green", "64Mi"),
		stored("Rollout", "elsewhere", "other-namespace", "blue", "64Mi"),
		stored("ClusterAnalysisTemplate", "", "shared", "", "64Mi"),
	)
	reg := tolerant.NewRegistry()

	for _, tc := range []struct {
		obj       runtime.Object
		namespace string
		label     string
		listed    []string
	}{
		{&v1alpha1.Rollout{}, "team", v1alpha1.LabelControllerInstanceID + "=blue", []string{"mine"}},
		{&v1alpha1.AnalysisRun{}, "team", v1alpha1.LabelControllerInstanceID + "=blue", nil},
		{&v1alpha1.Experiment{}, "team", v1alpha1.LabelControllerInstanceID + "=blue", nil},
		{&v1alpha1.AnalysisTemplate{}, "team", "", nil},
		{&v1alpha1.ClusterAnalysisTemplate{}, "", "", []string{"shared"}},
	} {
		lw := o.tolerantListerWatcher(dyn, reg, tc.obj)
		if lw == nil {
			t.Fatalf("%T is not read tolerantly", tc.obj)
		}
		label := ""
		if lw.Label != nil {
			label = lw.Label.String()
		}
		if lw.Namespace != tc.namespace || label != tc.label || lw.Kind.Kind != reflectName(tc.obj) {
			t.Errorf("%T: namespace %q label %q kind %s", tc.obj, lw.Namespace, label, lw.Kind)
		}
		list, err := lw.List(metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		items, _ := metaItems(list)
		for _, it := range items {
			names = append(names, it.GetName())
		}
		if !slices.Equal(names, tc.listed) {
			t.Errorf("%T: listed %v, want %v", tc.obj, names, tc.listed)
		}
	}
	if _, ok := reg.Get(tolerant.Key{Kind: schema.GroupKind{Group: "argoproj.io", Kind: "Rollout"}, Namespace: "team", Name: "broken"}); !ok {
		t.Error("the undecodable Rollout is not in the registry")
	}
	if o.tolerantListerWatcher(dyn, reg, &corev1.Pod{}) != nil {
		t.Error("a built-in kind must keep its typed ListerWatcher")
	}

	// Cluster-wide, without an instance id: every namespace, and only the
	// objects no instance claims.
	all := &Options{}
	lw := all.tolerantListerWatcher(dyn, reg, &v1alpha1.Rollout{})
	if lw.Namespace != "" || lw.Label.String() != "!"+v1alpha1.LabelControllerInstanceID {
		t.Errorf("cluster-wide: namespace %q label %q", lw.Namespace, lw.Label)
	}
}

// TestTolerantInformerSyncs runs the informer the cache would build.
func TestTolerantInformerSyncs(t *testing.T) {
	// The fake dynamic client never ends a watch-list's initial events;
	// the e2e suites run the watch-list path against a real API server.
	clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, false)
	o := &Options{Namespaced: true, Namespace: "team"}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.GroupVersion.WithResource("rollouts"): "RolloutList"},
		stored("Rollout", "team", "good", "", "64Mi"),
		stored("Rollout", "team", "broken", "", "invalid"),
	)
	newInformer := o.tolerantInformers(dyn, tolerant.NewRegistry())
	inf := newInformer(&toolscache.ListWatch{}, &v1alpha1.Rollout{}, 0, toolscache.Indexers{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go inf.RunWithContext(ctx)
	if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("the informer never synced")
	}
	keys := inf.GetStore().ListKeys()
	if !slices.Equal(keys, []string{"team/good"}) {
		t.Fatalf("cached %v", keys)
	}
}

func reflectName(obj runtime.Object) string { return reflect.TypeOf(obj).Elem().Name() }

func metaItems(list runtime.Object) ([]metav1.Object, error) {
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, 0, len(objs))
	for _, o := range objs {
		m, err := meta.Accessor(o)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
