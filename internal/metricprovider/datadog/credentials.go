package datadog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Where Argo Rollouts reads Datadog credentials: Secret keys, and the
// environment variables named after them.
const (
	APIKeyKey  = "api-key"
	AppKeyKey  = "app-key"
	AddressKey = "address"

	APIKeyEnv  = "DD_API_KEY"
	AppKeyEnv  = "DD_APP_KEY"
	AddressEnv = "DD_ADDRESS"
)

// credentials are the keys and address a query is sent with, and where
// they came from, to tell a user what to check when Datadog refuses them.
type credentials struct {
	apiKey, appKey, address string
	source                  string
}

// baseURL is the configured address, or Datadog's US1 site.
func (c credentials) baseURL() string {
	if c.address == "" {
		return DefaultAddress
	}
	return c.address
}

// redact replaces the keys in s.
func (c credentials) redact(s string) string {
	for _, k := range []string{c.apiKey, c.appKey} {
		if k != "" {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
	}
	return s
}

// findCredentials looks where Argo Rollouts looks, in its order:
//   - secretRef.name set: that Secret only, in the AnalysisRun's namespace
//     when secretRef.namespaced, else in home;
//   - otherwise DD_API_KEY, DD_APP_KEY and DD_ADDRESS when all three are
//     set (DD_ADDRESS may be empty), then Secret datadog in home.
//
// A source counts only if it has both keys.
func findCredentials(ctx context.Context, r client.Reader, lookup func(string) (string, bool), home, runNamespace string, ref v1alpha1.SecretRef) (credentials, error) {
	if ref.Namespaced && ref.Name == "" {
		return credentials{}, errors.New("secretRef.namespaced needs secretRef.name: name the Secret in the AnalysisRun's namespace")
	}
	if ref.Name != "" {
		ns := home
		if ref.Namespaced {
			ns = runNamespace
		}
		return fromSecret(ctx, r, ns, ref.Name)
	}
	env, envErr := fromEnv(lookup)
	if envErr == nil {
		return env, nil
	}
	c, err := fromSecret(ctx, r, home, v1alpha1.DefaultDatadogSecretName)
	if err != nil {
		return credentials{}, fmt.Errorf("%w; and %w", envErr, err)
	}
	return c, nil
}

func fromEnv(lookup func(string) (string, bool)) (credentials, error) {
	c := credentials{source: "environment variables " + APIKeyEnv + " and " + AppKeyEnv}
	var ok [3]bool
	c.apiKey, ok[0] = lookup(APIKeyEnv)
	c.appKey, ok[1] = lookup(AppKeyEnv)
	c.address, ok[2] = lookup(AddressEnv)
	if !ok[0] || !ok[1] || !ok[2] || c.apiKey == "" || c.appKey == "" {
		return credentials{}, fmt.Errorf("the controller's environment does not set all of %s, %s and %s", APIKeyEnv, AppKeyEnv, AddressEnv)
	}
	return c, nil
}

func fromSecret(ctx context.Context, r client.Reader, namespace, name string) (credentials, error) {
	ref := namespace + "/" + name
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return credentials{}, fmt.Errorf("no Secret %s with keys %s and %s", ref, APIKeyKey, AppKeyKey)
		}
		return credentials{}, fmt.Errorf("read Secret %s: %w", ref, err)
	}
	c := credentials{
		apiKey:  string(s.Data[APIKeyKey]),
		appKey:  string(s.Data[AppKeyKey]),
		address: string(s.Data[AddressKey]),
		source:  "keys " + APIKeyKey + " and " + AppKeyKey + " of Secret " + ref,
	}
	if c.apiKey == "" || c.appKey == "" {
		return credentials{}, fmt.Errorf("keys %s and %s must both be set in Secret %s", APIKeyKey, AppKeyKey, ref)
	}
	return c, nil
}
