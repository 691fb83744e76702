package metricprovider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ReadSecret reads a provider's credentials Secret straight from the API
// server (r must not be a cache: Secrets are neither cached nor watched) and
// returns its data after checking every key in required is set. Errors name
// the Secret and the keys, never a value.
func ReadSecret(ctx context.Context, r client.Reader, namespace, name string, required ...string) (map[string][]byte, error) {
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("no Secret %s/%s: create it in the controller's namespace", namespace, name)
		}
		return nil, fmt.Errorf("read Secret %s/%s: %w", namespace, name, err)
	}
	var missing []string
	for _, k := range required {
		if len(s.Data[k]) == 0 {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("no value for %s in Secret %s/%s", strings.Join(missing, ", "), namespace, name)
	}
	return s.Data, nil
}
