package rollout

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

// checkTemplateRefs reads AnalysisTemplates from the cache and
// ClusterAnalysisTemplates from the cache only when they are cached; a
// refused read of a ClusterAnalysisTemplate (a --namespaced controller)
// is InvalidSpec naming the field, any other error is retried.
func TestCheckTemplateRefs(t *testing.T) {
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{{Analysis: &v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "at"}, {TemplateName: "cat", ClusterScope: &yes}}}}}}
	at := &v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "at", Namespace: "ns"}}
	cat := &v1alpha1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "cat"}}
	forbidden := interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
		return apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "clusteranalysistemplates"}, "cat", errors.New("no RBAC"))
	}}
	broken := interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
		return errors.New("connection refused")
	}}
	build := func(funcs *interceptor.Funcs, objs ...client.Object) client.Client {
		b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...)
		if funcs != nil {
			b = b.WithInterceptorFuncs(*funcs)
		}
		return b.Build()
	}
	tests := []struct {
		name           string
		cache, live    client.Client
		clusterCached  bool
		invalid, other string
	}{
		{"both exist (cluster kind cached)", build(nil, at, cat), build(&broken), true, "", ""},
		{"both exist (cluster kind read live)", build(nil, at), build(nil, cat), false, "", ""},
		{"the namespaced one missing", build(nil, cat), build(nil, cat), true,
			`spec.strategy.canary.steps[0].analysis.templates[0].templateName: AnalysisTemplate "at" not found in namespace ns; create it or fix the name`, ""},
		{"the cluster one missing", build(nil, at), build(nil), false,
			`spec.strategy.canary.steps[0].analysis.templates[1].templateName: ClusterAnalysisTemplate "cat" not found in the cluster; create it or fix the name`, ""},
		{"the cluster one refused to a namespaced controller", build(nil, at), build(&forbidden), false,
			"spec.strategy.canary.steps[0].analysis.templates[1].templateName: read ClusterAnalysisTemplate \"cat\": ", ""},
		{"a read error is retried", build(nil, at), build(&broken), false, "", "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reconciler{Client: tt.cache, APIReader: tt.live, ClusterTemplates: tt.clusterCached}
			err := r.checkTemplateRefs(context.Background(), ro)
			var invalid *invalidSpec
			switch {
			case tt.invalid == "" && tt.other == "":
				if err != nil {
					t.Errorf("got %v, want none", err)
				}
			case tt.invalid != "":
				if !errors.As(err, &invalid) || !strings.HasPrefix(invalid.msg, tt.invalid) {
					t.Errorf("got %v, want InvalidSpec starting %q", err, tt.invalid)
				}
			default:
				if err == nil || errors.As(err, &invalid) || !strings.Contains(err.Error(), tt.other) {
					t.Errorf("got %v, want a retried error with %q", err, tt.other)
				}
			}
		})
	}
}
