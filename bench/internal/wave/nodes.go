package wave

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/bench/internal/controllerproc"
)

// defaultPodsPerNode is the pod limit of a node that states none, the
// kubelet's default.
const defaultPodsPerNode = 110

// EnsureNodes makes sure the cluster has the kwok nodes for pods pods, and
// one to spare, adding copies of an existing one (kwok manages every node
// annotated kwok.x-k8s.io/node=fake) with its pod limit, and waits until
// they are Ready, giving up after timeout without progress. It returns the
// names of the nodes it added, also with an error, for RemoveNodes.
func EnsureNodes(ctx context.Context, cl client.Client, pods int, timeout time.Duration) ([]string, error) {
	var nodes corev1.NodeList
	if err := cl.List(ctx, &nodes); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return nil, fmt.Errorf("the cluster has no nodes; run make cluster-up")
	}
	proto, have := nodes.Items[0], len(nodes.Items)
	// The local cluster's kwok nodes take a million pods each; a real
	// node's limit is the kubelet's 110.
	perNode := proto.Status.Allocatable.Pods().Value()
	if perNode <= 0 {
		perNode = defaultPodsPerNode
	}
	n := int((int64(pods)+perNode-1)/perNode) + 1
	var mu sync.Mutex
	var added []string
	err := controllerproc.Parallel(max(0, n-have), func(i int) error {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("bench-node-%03d", have+i),
			Labels:      maps.Clone(proto.Labels),
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		}, Spec: corev1.NodeSpec{Taints: proto.Spec.Taints}}
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		node.Labels[corev1.LabelHostname] = node.Name
		if err := cl.Create(ctx, node); err != nil {
			return fmt.Errorf("create node %s: %w", node.Name, err)
		}
		mu.Lock()
		added = append(added, node.Name)
		mu.Unlock()
		orig := node.DeepCopy()
		node.Status = corev1.NodeStatus{Capacity: proto.Status.Capacity, Allocatable: proto.Status.Allocatable}
		if err := cl.Status().Patch(ctx, node, client.MergeFrom(orig)); err != nil {
			return fmt.Errorf("set capacity of node %s: %w", node.Name, err)
		}
		return nil
	})
	if err != nil {
		return added, err
	}
	// kwok marks new nodes Ready on its next pass.
	err = Poll(timeout, time.Second, func() (bool, string, error) {
		if err := cl.List(ctx, &nodes); err != nil {
			return false, "", err
		}
		ready := 0
		for _, node := range nodes.Items {
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready >= n, fmt.Sprintf("%d of %d nodes Ready", ready, n), nil
	})
	return added, err
}

// RemoveNodes deletes the nodes EnsureNodes added.
func RemoveNodes(cl client.Client, names []string) {
	for _, name := range names {
		_ = cl.Delete(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
}
