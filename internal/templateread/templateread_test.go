package templateread

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
)

// TestGet: which reader serves each kind, and how a missing, a forbidden
// and a found template come back. (Malformed templates are covered on the
// cluster by test/e2e/malformed.)
func TestGet(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cache := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "smoke"}},
		&v1alpha1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "shared"}},
	).Build()
	forbidden := fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "clusteranalysistemplates"}, "shared", errors.New("namespaced"))
		},
	}).Build()
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		r       Reader
		tmpl    string
		cluster bool
		found   bool
		problem string
	}{
		{"namespaced, in the cache", Reader{Cache: cache, Live: forbidden}, "smoke", false, true, ""},
		{"namespaced, missing", Reader{Cache: cache, Live: forbidden}, "nope", false, false, ""},
		{"cluster, from the cache", Reader{Cache: cache, Live: forbidden, ClusterCached: true}, "shared", true, true, ""},
		{"cluster, live and forbidden", Reader{Cache: cache, Live: forbidden}, "shared", true, false, "can only use AnalysisTemplates in that namespace"},
		{"cluster, missing, with a registry", Reader{Cache: cache, ClusterCached: true, Undecodable: tolerant.NewRegistry()}, "nope", true, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, err := c.r.Get(ctx, "ns", c.tmpl, c.cluster)
			u, unusable := errors.AsType[*Unusable](err)
			switch {
			case c.problem != "":
				if !unusable || !strings.Contains(u.Msg, c.problem) {
					t.Fatalf("err %v, want an *Unusable saying %q", err, c.problem)
				}
			case err != nil:
				t.Fatalf("err %v", err)
			case (spec != nil) != c.found:
				t.Fatalf("spec %v, found want %v", spec, c.found)
			}
		})
	}
}
