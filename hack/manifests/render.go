package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// DefaultImage is the controller image the manifests reference.
const DefaultImage = "ghcr.io/aviary-rollouts/aviary-controller:latest"

const (
	namespace = "aviary"
	name      = "aviary-controller"
)

var commonLabels = map[string]string{
	"app.kubernetes.io/name":    name,
	"app.kubernetes.io/part-of": "aviary",
}

// clusterRules are the permissions the controller uses across namespaces.
// Widen them in the same change that makes the controller use a new verb or
// kind; the e2e suite runs the controller with exactly these.
func clusterRules() []rbacv1.PolicyRule {
	return append(workloadRules(),
		rbacv1.PolicyRule{APIGroups: []string{"argoproj.io"}, Resources: []string{"clusteranalysistemplates"}, Verbs: []string{"get", "list", "watch"}},
	)
}

// workloadRules are the permissions on namespaced objects, shared by both
// install variants.
func workloadRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// spec.replicas is written back (a patch) when unset, as the HPA needs it.
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"rollouts"}, Verbs: []string{"get", "list", "watch", "patch"}},
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"rollouts/status"}, Verbs: []string{"patch"}},
		// Rollouts create, terminate and garbage-collect their runs; the
		// analysis controller records measurements and deletes runs past
		// their ttlStrategy.
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"analysisruns"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"analysisruns/status"}, Verbs: []string{"patch"}},
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"experiments", "analysistemplates"}, Verbs: []string{"get", "list", "watch"}},
		// Job metrics: one Job per measurement, deleted when terminated.
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
		// secretKeyRef args are read at measurement time (never cached).
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		// workloadRef: the template is read from these; scaleDown patches a Deployment.
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"podtemplates"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
		// Role metadata (canaryMetadata/stableMetadata) is patched onto live pods.
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "patch"}},
		// restartAt evicts pods through the Eviction API (PDB-aware).
		{APIGroups: []string{""}, Resources: []string{"pods/eviction"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list", "watch", "patch"}},
		// NGINX routing: the canary Ingress is created from the stable one,
		// and deleted once the rollout's routing no longer uses it.
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
		// Traefik routing: weights on the user's weighted TraefikService.
		{APIGroups: []string{"traefik.io", "traefik.containo.us"}, Resources: []string{"traefikservices"}, Verbs: []string{"get", "update"}},
		// SMI routing: the TrafficSplit is created, owned by the rollout, and
		// deleted once the rollout's routing no longer uses it.
		{APIGroups: []string{"split.smi-spec.io"}, Resources: []string{"trafficsplits"}, Verbs: []string{"get", "list", "create", "patch", "delete"}},
		// Istio routing: weights and managed routes on VirtualServices,
		// hashes on DestinationRule subsets; DestinationRules are listed to
		// release the one a rollout no longer names.
		{APIGroups: []string{"networking.istio.io"}, Resources: []string{"virtualservices"}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{"networking.istio.io"}, Resources: []string{"destinationrules"}, Verbs: []string{"get", "list", "update"}},
		// Gateway API routing: weights and managed rules on the routes.
		{APIGroups: []string{"gateway.networking.k8s.io"}, Resources: []string{"httproutes", "grpcroutes", "tcproutes", "tlsroutes"}, Verbs: []string{"get", "list", "update"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
}

// namespacedRules are clusterRules less the cluster-scoped kinds, which a
// namespaced controller cannot read.
func namespacedRules() []rbacv1.PolicyRule { return workloadRules() }

// leaseRules let the controller elect a leader in its own namespace only.
// The Lease name carries the --instance-id, so it is not pinned here.
func leaseRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	}
}

// Render returns the manifest files by name.
func Render(crdDir, image string) (map[string][]byte, error) {
	crds, err := readCRDs(crdDir)
	if err != nil {
		return nil, err
	}
	cluster := []any{
		&corev1.Namespace{TypeMeta: tm("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: commonLabels}},
		serviceAccount(),
		&rbacv1.ClusterRole{TypeMeta: tm("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: meta(name, ""), Rules: clusterRules()},
		&rbacv1.ClusterRoleBinding{TypeMeta: tm("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: meta(name, ""),
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}, Subjects: subjects()},
		role(name+"-leader-election", leaseRules()),
		roleBinding(name + "-leader-election"),
		deployment(image, nil),
		metricsService(),
	}
	namespaced := []any{
		serviceAccount(),
		role(name, append(namespacedRules(), leaseRules()...)),
		roleBinding(name),
		deployment(image, []string{"--namespaced"}),
		metricsService(),
	}
	install, err := join(crds, cluster)
	if err != nil {
		return nil, err
	}
	nsInstall, err := join(nil, namespaced)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"install.yaml": install, "namespace-install.yaml": nsInstall}, nil
}

func tm(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func meta(n, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: n, Namespace: ns, Labels: commonLabels}
}

func subjects() []rbacv1.Subject {
	return []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: namespace}}
}

func serviceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{TypeMeta: tm("v1", "ServiceAccount"), ObjectMeta: meta(name, namespace)}
}

func role(n string, rules []rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{TypeMeta: tm("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: meta(n, namespace), Rules: rules}
}

func roleBinding(n string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{TypeMeta: tm("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: meta(n, namespace),
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: n}, Subjects: subjects()}
}

func deployment(image string, extraArgs []string) *appsv1.Deployment {
	selector := map[string]string{"app.kubernetes.io/name": name}
	yes, no := true, false
	uid := int64(65532)
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("health")}},
			InitialDelaySeconds: 5, PeriodSeconds: 10, TimeoutSeconds: 2, FailureThreshold: 3,
		}
	}
	return &appsv1.Deployment{
		TypeMeta:   tm("apps/v1", "Deployment"),
		ObjectMeta: meta(name, namespace),
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			// The Lease, not the Deployment, guarantees a single leader;
			// Recreate just avoids two replicas competing during an upgrade.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: commonLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName: name,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  name,
						Image: image,
						Args:  extraArgs,
						Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}},
						Ports: []corev1.ContainerPort{
							{Name: "metrics", ContainerPort: 8090, Protocol: corev1.ProtocolTCP},
							{Name: "health", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
						},
						LivenessProbe:  probe("/healthz"),
						ReadinessProbe: probe("/readyz"),
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: &no,
							ReadOnlyRootFilesystem:   &yes,
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}

func metricsService() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   tm("v1", "Service"),
		ObjectMeta: meta("aviary-metrics", namespace),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app.kubernetes.io/name": name},
			Ports:    []corev1.ServicePort{{Name: "metrics", Port: 8090, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// readCRDs returns the generated CRD files in name order.
func readCRDs(dir string) ([][]byte, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no CRDs in %s: run `make generate`", dir)
	}
	sort.Strings(paths)
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, bytes.TrimPrefix(bytes.TrimSpace(data), []byte("---\n")))
	}
	return out, nil
}

// join writes documents separated by ---, CRDs first.
func join(raw [][]byte, objs []any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Generated by `make manifests` (hack/manifests); do not edit.\n")
	for _, r := range raw {
		b.WriteString("---\n")
		b.Write(r)
		b.WriteString("\n")
	}
	for _, o := range objs {
		data, err := clean(o)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.Bytes(), nil
}

// clean marshals a typed object without the empty status and null
// creationTimestamps that typed objects carry, which are noise in a manifest.
func clean(o any) ([]byte, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", o, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	dropNullTimestamps(m)
	return yaml.Marshal(m)
}

func dropNullTimestamps(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if k == "creationTimestamp" && child == nil {
				delete(x, k)
				continue
			}
			dropNullTimestamps(child)
		}
	case []any:
		for _, child := range x {
			dropNullTimestamps(child)
		}
	}
}
