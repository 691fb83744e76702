// Package framework runs end-to-end tests against Aviary's real local control
// plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok fake nodes). A test package calls Main from TestMain: it starts or
// reuses the cluster once, installs the CRDs, and fails every test with the
// reason if it cannot — tests never skip for want of a cluster.
package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/manager"
)

// Env is the cluster shared by every test of one package.
type Env struct {
	// RepoRoot is the checkout's top directory (the one with go.mod).
	RepoRoot string
	// Kubeconfig is the admin kubeconfig of the local cluster.
	Kubeconfig string
	// KubectlPath is a kubectl of the same version as the cluster.
	KubectlPath string
	Config      *rest.Config
	Client      client.Client
	Clientset   kubernetes.Interface
	Dynamic     dynamic.Interface
}

// env is set by Main before any test runs.
var env *Env

// Main is the TestMain of an e2e package: it prepares the cluster, runs the
// tests, and exits. If the cluster cannot be prepared the package fails with
// the reason.
func Main(m *testing.M) {
	var err error
	env, err = setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot prepare the local cluster: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	removeControllerKubeconfigs()
	os.Exit(code)
}

// Get returns the package's Env; only valid in tests of a package whose
// TestMain calls Main.
func Get(t testing.TB) *Env {
	t.Helper()
	if env == nil {
		t.Fatal("framework.Main was not called from TestMain")
	}
	return env
}

func setup() (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	local := filepath.Join(root, ".local")
	up := exec.Command("go", "run", ".", "up", "--dir", local)
	up.Dir = filepath.Join(root, "hack", "localcluster")
	// The first build of the control plane takes minutes: show its progress.
	up.Stdout = os.Stderr
	up.Stderr = os.Stderr
	if err := up.Run(); err != nil {
		return nil, fmt.Errorf("start the local cluster (cd hack/localcluster && go run . up): %w", err)
	}
	e := &Env{
		RepoRoot:    root,
		Kubeconfig:  filepath.Join(local, "kubeconfig"),
		KubectlPath: filepath.Join(local, "bin", "kubectl"),
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", e.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	e.Config = cfg
	scheme, err := manager.Scheme()
	if err != nil {
		return nil, err
	}
	if e.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	if e.Clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("create clientset: %w", err)
	}
	if e.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("create dynamic client: %w", err)
	}
	if err := e.InstallCRDs(); err != nil {
		return nil, err
	}
	return e, nil
}

// InstallCRDs applies Aviary's generated CRDs and the stand-in CRDs of other
// projects (test/e2e/testdata/crds) and waits until they are served.
func (e *Env) InstallCRDs() error {
	for _, dir := range []string{
		filepath.Join(e.RepoRoot, "config", "crd"),
		filepath.Join(e.RepoRoot, "test", "e2e", "testdata", "crds"),
	} {
		if _, err := e.Kubectl(context.Background(), "apply", "--server-side", "--force-conflicts", "--field-manager=aviary-e2e", "-f", dir); err != nil {
			return fmt.Errorf("install CRDs from %s: %w", dir, err)
		}
	}
	for _, m := range moduleCRDs {
		docs, err := m.read()
		if err != nil {
			return err
		}
		if _, err := e.KubectlStdin(context.Background(), docs, "apply", "--server-side", "--force-conflicts", "--field-manager=aviary-e2e", "-f", "-"); err != nil {
			return fmt.Errorf("install CRDs from %s %s: %w", m.module, m.file, err)
		}
	}
	if _, err := e.Kubectl(context.Background(), "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"); err != nil {
		return fmt.Errorf("CRDs never became established: %w", err)
	}
	return nil
}

// Kubectl runs the cluster's kubectl against the local cluster and returns its
// standard output; the error carries standard error.
func (e *Env) Kubectl(ctx context.Context, args ...string) (string, error) {
	return e.KubectlStdin(ctx, nil, args...)
}

// KubectlStdin is Kubectl with standard input.
func (e *Env) KubectlStdin(ctx context.Context, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.KubectlPath, append([]string{"--kubeconfig", e.Kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// RepoRoot finds the checkout's top directory from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/aviary-rollouts/aviary\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the aviary checkout (no go.mod for github.com/aviary-rollouts/aviary above the working directory)")
		}
		dir = parent
	}
}

// moduleCRD is a CRD file another project publishes in its Go module. The
// module is only downloaded to the module cache for the file, never linked
// into a binary.
type moduleCRD struct {
	module string // path@version
	file   string // inside the module
	names  []string
}

// moduleCRDs are the real schemas of the router kinds the e2e suites use,
// so the API server validates what the routers write as it would in a
// cluster running Istio, APISIX or a Gateway API implementation. (Traefik's and
// SMI's CRDs ship only in much larger modules; stand-ins for those are in
// test/e2e/testdata/crds.)
var moduleCRDs = []moduleCRD{
	{module: "sigs.k8s.io/gateway-api@v1.4.1", file: "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"},
	{module: "sigs.k8s.io/gateway-api@v1.4.1", file: "config/crd/standard/gateway.networking.k8s.io_grpcroutes.yaml"},
	{module: "sigs.k8s.io/gateway-api@v1.4.1", file: "config/crd/experimental/gateway.networking.k8s.io_tcproutes.yaml"},
	{module: "sigs.k8s.io/gateway-api@v1.4.1", file: "config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml"},
	{module: "istio.io/api@v1.31.4", file: "kubernetes/customresourcedefinitions.gen.yaml",
		names: []string{"virtualservices.networking.istio.io", "destinationrules.networking.istio.io"}},
	{module: "github.com/apache/apisix-ingress-controller@v1.8.3", file: "samples/deploy/crd/v1/ApisixRoute.yaml"},
}

// read downloads the module (a no-op when cached) and returns the file's
// YAML documents, only the named CRDs when names is set.
func (m moduleCRD) read() ([]byte, error) {
	cmd := exec.Command("go", "mod", "download", "-json", m.module)
	cmd.Dir = os.TempDir() // outside any module: nothing to add to go.sum
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("download %s for its CRDs: %w", m.module, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return nil, fmt.Errorf("download %s for its CRDs: %s %v", m.module, info.Error, err)
	}
	raw, err := os.ReadFile(filepath.Join(info.Dir, m.file))
	if err != nil {
		return nil, fmt.Errorf("read CRDs of %s: %w", m.module, err)
	}
	if len(m.names) == 0 {
		return raw, nil
	}
	var keep []string
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		for _, n := range m.names {
			if strings.Contains(doc, "\n  name: "+n+"\n") {
				keep = append(keep, doc)
			}
		}
	}
	if len(keep) != len(m.names) {
		return nil, fmt.Errorf("%s %s: found %d of the CRDs %v", m.module, m.file, len(keep), m.names)
	}
	return []byte(strings.Join(keep, "\n---\n")), nil
}

// Testdata returns the contents of test/e2e/testdata/name, fixtures
// several suites share.
func Testdata(t testing.TB, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(Get(t).RepoRoot, "test", "e2e", "testdata", name))
	if err != nil {
		t.Fatalf("read fixture %s: %v", name, err)
	}
	return string(raw)
}

// Example is the path of a manifest in the project's examples/ folder.
func Example(t testing.TB, file string) string {
	t.Helper()
	return filepath.Join(Get(t).RepoRoot, "examples", file)
}
