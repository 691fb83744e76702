package notify

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// RunLister lists the AnalysisRuns in namespace labelled with the pod
// template hash.
type RunLister func(namespace, podHash string) ([]v1alpha1.AnalysisRun, error)

// TemplateVars is what templates and trigger conditions read, as Argo
// Rollouts gives them: `rollout` (the Rollout), `analysisRuns` (its current
// revision's runs, newest first), `time` (`Now`, `Parse` of RFC 3339) and
// `secrets` (the Secret's data); the engine adds `serviceType` and
// `recipient`. The controller and `kubectl argo rollouts notifications`
// share it, so a template renders the same in both.
func TemplateVars(runs RunLister) Vars {
	return func(cfg *api.Config, cm *corev1.ConfigMap, secret *corev1.Secret) (api.GetVars, error) {
		// Called before the engine builds the services from cfg.
		if err := useOwnWebhooks(cfg, cm, secret); err != nil {
			return nil, err
		}
		var data map[string][]byte
		if secret != nil {
			data = secret.Data
		}
		return func(obj map[string]any, _ services.Destination) map[string]any {
			vars := map[string]any{"rollout": obj, "time": timeFuncs, "secrets": data}
			if runs != nil {
				// A run that cannot be listed leaves analysisRuns unset,
				// as in Argo Rollouts; the template says what it lacks.
				if list, err := currentRuns(obj, runs); err == nil {
					vars["analysisRuns"] = list
				}
			}
			return vars
		}, nil
	}
}

var timeFuncs = map[string]any{
	"Now": time.Now,
	// Parse panics on a bad timestamp as Argo Rollouts' does; the engine
	// reports the template's failure.
	"Parse": func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	},
}

// currentRuns are the runs of the rollout's current pod template hash and
// revision, newest first, as plain maps; nil when there are none.
func currentRuns(obj map[string]any, list RunLister) (any, error) {
	var ro v1alpha1.Rollout
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &ro); err != nil {
		return nil, fmt.Errorf("read the rollout for its analysis runs: %w", err)
	}
	runs, err := list(ro.Namespace, ro.Status.CurrentPodHash)
	if err != nil {
		return nil, err
	}
	revision := ro.Annotations[v1alpha1.RevisionAnnotation]
	var current []v1alpha1.AnalysisRun
	for _, r := range runs {
		if r.Annotations[v1alpha1.RevisionAnnotation] == revision {
			current = append(current, r)
		}
	}
	if len(current) == 0 {
		return nil, nil
	}
	slices.SortStableFunc(current, func(a, b v1alpha1.AnalysisRun) int {
		return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
	})
	raw, err := json.Marshal(current)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(raw, &out)
}
