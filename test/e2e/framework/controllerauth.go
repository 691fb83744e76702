package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// The controllers tests start run as a ServiceAccount of this namespace,
// bound to the cluster install's ClusterRole, so a verb or kind the
// controller uses but the install does not grant fails the test that needs
// it instead of surfacing in users' clusters. The objects carry their own
// names (not the install's aviary-controller) so the foundation suite's
// installs and uninstalls never touch what other packages run under.
const (
	controllerAuthNamespace = "aviary-e2e"
	controllerAuthName      = "aviary-e2e-controller"
	// Every object the framework applies for the controller's identity.
	controllerAuthFieldManager = "aviary-e2e"
)

// controllerTokenTTL is asked of the TokenRequest API: longer than a whole
// `make test` run. The local API server sets no
// --service-account-max-token-expiration, so it is granted as asked.
const controllerTokenTTL = 3 * time.Hour

// controllerTokenMinLife: a token with less left than this is replaced
// before a controller starts with it, since no single test runs this long.
const controllerTokenMinLife = time.Hour

// controllerAuth is the process's controller identity, made on first use.
var controllerAuth struct {
	mu         sync.Mutex
	applied    bool
	dir        string
	kubeconfig string
	expires    time.Time
}

// ControllerKubeconfig returns a kubeconfig that authenticates as the
// framework's controller ServiceAccount, which holds exactly the rules of
// manifests/cluster-install/clusterrole.yaml (plus the leader-election
// rules of manifests/cluster-install/leader-election.yaml, in every
// namespace, since tests put their Lease in their own namespace).
// StartController passes it unless the test names a kubeconfig. The RBAC
// is applied once per test process, from the manifest files as they are
// now; the token is re-requested when it nears expiry.
func (e *Env) ControllerKubeconfig() (string, error) {
	controllerAuth.mu.Lock()
	defer controllerAuth.mu.Unlock()
	ctx := context.Background()
	if !controllerAuth.applied {
		if err := e.applyControllerRBAC(ctx); err != nil {
			return "", err
		}
		controllerAuth.applied = true
	}
	if controllerAuth.kubeconfig != "" && time.Until(controllerAuth.expires) > controllerTokenMinLife {
		return controllerAuth.kubeconfig, nil
	}
	path, expires, err := e.writeControllerKubeconfig(ctx)
	if err != nil {
		return "", err
	}
	controllerAuth.kubeconfig, controllerAuth.expires = path, expires
	return path, nil
}

// removeControllerKubeconfigs deletes the kubeconfigs this process wrote.
func removeControllerKubeconfigs() {
	controllerAuth.mu.Lock()
	defer controllerAuth.mu.Unlock()
	if controllerAuth.dir != "" {
		_ = os.RemoveAll(controllerAuth.dir)
	}
}

// applyControllerRBAC applies the namespace, the ServiceAccount and the
// install's ClusterRole and binding under the framework's names, then
// waits until the API server's authorizer has seen the binding.
func (e *Env) applyControllerRBAC(ctx context.Context) error {
	dir := filepath.Join(e.RepoRoot, "manifests")
	var role rbacv1.ClusterRole
	if err := readManifest(filepath.Join(dir, "cluster-install", "clusterrole.yaml"), &role); err != nil {
		return err
	}
	var binding rbacv1.ClusterRoleBinding
	if err := readManifest(filepath.Join(dir, "cluster-install", "clusterrolebinding.yaml"), &binding); err != nil {
		return err
	}
	var sa corev1.ServiceAccount
	if err := readManifest(filepath.Join(dir, "base", "serviceaccount.yaml"), &sa); err != nil {
		return err
	}
	var lease rbacv1.Role
	if err := readManifest(filepath.Join(dir, "cluster-install", "leader-election.yaml"), &lease); err != nil {
		return err
	}
	if role.Name != binding.RoleRef.Name || len(binding.Subjects) != 1 || binding.Subjects[0].Name != sa.Name {
		return fmt.Errorf("manifests/cluster-install: the ClusterRoleBinding %s no longer binds ClusterRole %s to ServiceAccount %s; update test/e2e/framework/controllerauth.go with it",
			binding.Name, role.Name, sa.Name)
	}

	ns := corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: controllerAuthNamespace}}
	sa.Name, sa.Namespace = controllerAuthName, controllerAuthNamespace
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: sa.Namespace}
	role.Name = controllerAuthName
	binding.Name, binding.RoleRef.Name, binding.Subjects = controllerAuthName, role.Name, []rbacv1.Subject{subject}
	// The Lease rules as a ClusterRole: tests choose the Lease's namespace
	// (their own, through --namespace or POD_NAMESPACE).
	leaseRole := rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: controllerAuthName + "-leader-election", Labels: lease.Labels}, Rules: lease.Rules}
	leaseBinding := rbacv1.ClusterRoleBinding{TypeMeta: binding.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: leaseRole.Name, Labels: lease.Labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: leaseRole.Name},
		Subjects:   []rbacv1.Subject{subject}}

	var docs bytes.Buffer
	for _, o := range []any{ns, sa, role, binding, leaseRole, leaseBinding} {
		data, err := yaml.Marshal(o)
		if err != nil {
			return err
		}
		docs.WriteString("---\n")
		docs.Write(data)
	}
	if _, err := e.KubectlStdin(ctx, docs.Bytes(), "apply", "--server-side", "--force-conflicts", "--field-manager="+controllerAuthFieldManager, "-f", "-"); err != nil {
		return fmt.Errorf("apply the controller's ServiceAccount and the install's ClusterRole: %w", err)
	}

	// RBAC reaches the authorizer through an informer: wait for it, or the
	// first controller could start with a List refused.
	user := "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
	deadline := time.Now().Add(30 * time.Second)
	for _, check := range []authorizationv1.ResourceAttributes{
		resourceCheck(role.Rules[0]), resourceCheck(leaseRole.Rules[0]),
	} {
		for {
			r, err := e.Clientset.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &check},
			}, metav1.CreateOptions{})
			if err == nil && r.Status.Allowed {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s may still not %s %s.%s after applying %s: %v", user, check.Verb, check.Resource, check.Group, role.Name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// resourceCheck is the first verb of a rule's first resource, in namespace
// default.
func resourceCheck(r rbacv1.PolicyRule) authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Namespace: "default", Verb: r.Verbs[0], Group: r.APIGroups[0], Resource: r.Resources[0]}
}

// writeControllerKubeconfig requests a token for the framework's
// ServiceAccount and writes a kubeconfig of the admin one's cluster with it.
func (e *Env) writeControllerKubeconfig(ctx context.Context) (string, time.Time, error) {
	if controllerAuth.dir == "" {
		var err error
		if controllerAuth.dir, err = os.MkdirTemp("", "aviary-e2e-auth-"); err != nil {
			return "", time.Time{}, err
		}
	}
	// A new file per token: a controller still starting reads the old one.
	path := filepath.Join(controllerAuth.dir, fmt.Sprintf("controller-%d.kubeconfig", time.Now().UnixNano()))
	expiry, err := e.WriteTokenKubeconfig(ctx, controllerAuthNamespace, controllerAuthName, controllerTokenTTL, path)
	return path, expiry, err
}

// WriteTokenKubeconfig writes to path a kubeconfig for the local cluster
// that authenticates with a token of ServiceAccount namespace/name valid
// for ttl, and returns when the token expires: a client using it has
// exactly the RBAC that ServiceAccount is granted.
func (e *Env) WriteTokenKubeconfig(ctx context.Context, namespace, name string, ttl time.Duration, path string) (time.Time, error) {
	secs := int64(ttl / time.Second)
	tr, err := e.Clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		return time.Time{}, fmt.Errorf("request a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	admin, err := clientcmd.LoadFromFile(e.Kubeconfig)
	if err != nil {
		return time.Time{}, err
	}
	current, ok := admin.Contexts[admin.CurrentContext]
	if !ok || admin.Clusters[current.Cluster] == nil {
		return time.Time{}, fmt.Errorf("%s: no cluster for the current context %q", e.Kubeconfig, admin.CurrentContext)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = admin.Clusters[current.Cluster]
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "sa"}
	cfg.CurrentContext = "local"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return time.Time{}, err
	}
	return tr.Status.ExpirationTimestamp.Time, nil
}

// readManifest decodes the one document of kind T in a manifest file (the
// first, when the file holds several, as leader-election.yaml does).
func readManifest(path string, into any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(string(data), "\n---\n")
	if err := yaml.UnmarshalStrict([]byte(first), into); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
