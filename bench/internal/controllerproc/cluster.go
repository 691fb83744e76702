package controllerproc

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/manager"
)

// Connect returns a client for the local cluster. The benchmark's own
// client is not what is measured, so it gets a generous budget.
func Connect(kubeconfig string) (client.Client, error) {
	cfg, err := RESTConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// RESTConfig is the benchmark's own connection to the local cluster, with
// the generous client budget Connect gives.
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load %s (run make cluster-up first): %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	return cfg, nil
}

// TempNamespace creates a namespace named prefix-<unix time> and returns
// its name and a function deleting it.
func TempNamespace(ctx context.Context, cl client.Client, prefix string) (string, func(), error) {
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().Unix())
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if err := cl.Create(ctx, obj); err != nil {
		return "", nil, fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return ns, func() { _ = cl.Delete(context.Background(), obj) }, nil
}
