package wave

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podsPerNode is the pod limit of a kwok node of the local cluster.
const podsPerNode = 110

// EnsureNodes makes sure the cluster has at least n kwok nodes, copying an
// existing one (kwok manages every node annotated kwok.x-k8s.io/node=fake),
// and waits until n are Ready. It returns the names of the nodes it added,
// also with an error, for RemoveNodes.
func EnsureNodes(ctx context.Context, cl client.Client, n int) ([]string, error) {
	var nodes corev1.NodeList
	if err := cl.List(ctx, &nodes); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return nil, fmt.Errorf("the cluster has no nodes; run make cluster-up")
	}
	var added []string
	proto := nodes.Items[0]
	for i := len(nodes.Items); i < n; i++ {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("bench-node-%03d", i),
			Labels:      maps.Clone(proto.Labels),
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		}, Spec: corev1.NodeSpec{Taints: proto.Spec.Taints}}
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		node.Labels[corev1.LabelHostname] = node.Name
		if err := cl.Create(ctx, node); err != nil {
			return added, fmt.Errorf("create node %s: %w", node.Name, err)
		}
		added = append(added, node.Name)
		orig := node.DeepCopy()
		node.Status = corev1.NodeStatus{Capacity: proto.Status.Capacity, Allocatable: proto.Status.Allocatable}
		if err := cl.Status().Patch(ctx, node, client.MergeFrom(orig)); err != nil {
			return added, fmt.Errorf("set capacity of node %s: %w", node.Name, err)
		}
	}
	// kwok marks new nodes Ready on its next pass.
	err := Poll(2*time.Minute, time.Second, func() (bool, string, error) {
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
