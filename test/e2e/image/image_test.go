// Package image checks the release images `make image` builds (hack/release):
// it opens the OCI layouts, checks each image's config and filesystem, takes
// the controller binary out of the linux/amd64 image and runs it against the
// local cluster until it leads and reconciles a canary Rollout to Healthy.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// buildImages returns a directory holding one OCI layout per image: it runs
// `go run ./hack/release image` (as `make image` does) into dir, or, with
// AVIARY_E2E_IMAGE_DIR=bin/image (relative to the checkout), reuses the
// layouts of an earlier `make image`.
func buildImages(t *testing.T, dir string) string {
	t.Helper()
	if reuse := os.Getenv("AVIARY_E2E_IMAGE_DIR"); reuse != "" {
		if !filepath.IsAbs(reuse) {
			reuse = filepath.Join(framework.Get(t).RepoRoot, reuse)
		}
		t.Logf("using the images in %s (AVIARY_E2E_IMAGE_DIR)", reuse)
		return reuse
	}
	start := time.Now()
	cmd := exec.Command("go", "run", "./hack/release", "image", "-out", dir)
	cmd.Dir = framework.Get(t).RepoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./hack/release image: %v\n%s", err, out)
	}
	t.Logf("built the images (both binaries for linux/amd64 and linux/arm64) in %s:\n%s", time.Since(start).Round(time.Second), out)
	return dir
}

// openIndex opens the image index of the named image's OCI layout.
func openIndex(t *testing.T, images, name string) (v1.ImageIndex, *v1.IndexManifest) {
	t.Helper()
	dir := filepath.Join(images, name)
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("open the OCI layout %s: %v", dir, err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIImageIndex {
		t.Fatalf("%s/index.json: want one OCI image index, have %+v", dir, tm.Manifests)
	}
	if tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] == "" {
		t.Errorf("%s/index.json names no tag", dir)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return idx, m
}

var rfc3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// checkImage checks the index of the named image and each of its platform
// images, and returns the linux/amd64 binary and the labels.
func checkImage(t *testing.T, images, name string) ([]byte, map[string]string) {
	t.Helper()
	idx, m := openIndex(t, images, name)
	var platforms []string
	var amd64Binary []byte
	var labels map[string]string
	for _, d := range m.Manifests {
		if d.Platform == nil {
			t.Fatalf("%s: manifest %s has no platform", name, d.Digest)
		}
		p := d.Platform.OS + "/" + d.Platform.Architecture
		platforms = append(platforms, p)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Config
		entry := "/usr/local/bin/" + name
		if !slices.Equal(c.Entrypoint, []string{entry}) || len(c.Cmd) != 0 {
			t.Errorf("%s %s: entrypoint %q cmd %q, want [%s] and no cmd", name, p, c.Entrypoint, c.Cmd, entry)
		}
		if c.User != "65532:65532" {
			t.Errorf("%s %s: user %q, want 65532:65532", name, p, c.User)
		}
		if cfg.OS+"/"+cfg.Architecture != p {
			t.Errorf("%s: the index says %s, the config %s/%s", name, p, cfg.OS, cfg.Architecture)
		}
		for _, k := range []string{"title", "version", "revision", "created", "source", "licenses"} {
			if c.Labels["org.opencontainers.image."+k] == "" {
				t.Errorf("%s %s: no label org.opencontainers.image.%s in %v", name, p, k, c.Labels)
			}
		}
		if got := c.Labels["org.opencontainers.image.title"]; got != name {
			t.Errorf("%s %s: title %q", name, p, got)
		}
		if got := c.Labels["org.opencontainers.image.created"]; !rfc3339.MatchString(got) {
			t.Errorf("%s %s: created %q is not RFC 3339 UTC", name, p, got)
		}
		if labels == nil {
			labels = c.Labels
		} else if !maps.Equal(labels, c.Labels) {
			t.Errorf("%s: the platforms' labels differ: %v and %v", name, labels, c.Labels)
		}
		if m.Annotations["org.opencontainers.image.revision"] != c.Labels["org.opencontainers.image.revision"] {
			t.Errorf("%s: index annotations %v differ from the labels", name, m.Annotations)
		}

		fs := extract(t, img)
		for _, shell := range []string{"/bin/sh", "/bin/bash", "/bin/busybox", "/usr/bin/sh", "/bin"} {
			if _, ok := fs[shell]; ok {
				t.Errorf("%s %s: the image has %s", name, p, shell)
			}
		}
		if !bytes.Contains(fs["/etc/passwd"].data, []byte("nonroot:x:65532:65532:")) {
			t.Errorf("%s %s: /etc/passwd %q has no nonroot", name, p, fs["/etc/passwd"].data)
		}
		if !bytes.Contains(fs["/etc/ssl/certs/ca-certificates.crt"].data, []byte("BEGIN CERTIFICATE")) {
			t.Errorf("%s %s: no CA certificates", name, p)
		}
		bin, ok := fs[entry]
		if !ok || bin.hdr.Mode&0o111 == 0 {
			t.Fatalf("%s %s: no executable %s", name, p, entry)
		}
		checkELF(t, name+" "+p, bin.data, d.Platform.Architecture)
		if d.Platform.Architecture == "amd64" {
			amd64Binary = bin.data
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("%s: platforms %v, want linux/amd64 and linux/arm64", name, platforms)
	}
	if amd64Binary == nil {
		t.Fatalf("%s: no linux/amd64 image", name)
	}
	return amd64Binary, labels
}

// checkELF checks the binary is a static Linux executable for arch.
func checkELF(t *testing.T, what string, data []byte, arch string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: not an ELF file: %v", what, err)
		return
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		t.Errorf("%s: built for %s, want %s", what, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: has an ELF interpreter (dynamically linked)", what)
		}
	}
}

type file struct {
	hdr  *tar.Header
	data []byte
}

// extract reads the image's flattened filesystem.
func extract(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files["/"+strings.Trim(h.Name, "/")] = file{h, data}
	}
}

// writeBinary writes data as an executable file and returns its path.
func writeBinary(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkVersion runs `args…` of the binary and checks its version output
// against the image's labels.
func checkVersion(t *testing.T, bin string, labels map[string]string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	}
	for _, want := range []string{
		labels["org.opencontainers.image.title"] + ": " + labels["org.opencontainers.image.version"] + "\n",
		"  GitCommit: " + labels["org.opencontainers.image.revision"] + "\n",
		"  BuildDate: " + labels["org.opencontainers.image.created"] + "\n",
		"  GoVersion: go",
		"  Platform: linux/amd64\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%v output lacks %q:\n%s", args, want, out)
		}
	}
}

const rollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: from-image
spec:
  replicas: 2
  selector:
    matchLabels: {app: from-image}
  template:
    metadata:
      labels: {app: from-image}
    spec:
      containers:
      - name: app
        image: argoproj/rollouts-demo:blue
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {duration: 5s}
`

// TestImages builds the images once and checks each.
func TestImages(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("runs the images' linux/amd64 binaries; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	images := buildImages(t, t.TempDir())
	t.Run("controller", func(t *testing.T) { testControllerImage(t, images) })
	t.Run("cli", func(t *testing.T) { testCLIImage(t, images) })
}

// testControllerImage checks the aviary-controller image and runs the
// binary it carries: with leader election in a namespace of its own it must
// take the Lease under its identity and reconcile a canary Rollout to
// Healthy.
func testControllerImage(t *testing.T, images string) {
	data, labels := checkImage(t, images, "aviary-controller")
	bin := writeBinary(t, "aviary-controller", data)
	checkVersion(t, bin, labels, "--version")

	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	ctl := framework.StartControllerBinary(t, bin, "--leader-elect=true", "--namespaced", "--namespace", ns)
	ctl.WaitForOutput(60*time.Second, "leading: this instance now reconciles")
	id := ctl.Identity()
	framework.Eventually(t, 30*time.Second, "the Lease held by "+id, func() (bool, string) {
		l, err := e.Clientset.CoordinationV1().Leases(ns).Get(ctx, "aviary-controller-lock", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if l.Spec.HolderIdentity == nil {
			return false, "no holder"
		}
		return *l.Spec.HolderIdentity == id, "holder " + *l.Spec.HolderIdentity
	})

	if out, err := e.KubectlStdin(ctx, []byte(rollout), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply the rollout: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "the rollout Healthy with 2 available pods", func() (bool, string) {
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, k8stypes.NamespacedName{Namespace: ns, Name: "from-image"}, &ro); err != nil {
			return false, err.Error()
		}
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS != "" && ro.Status.AvailableReplicas == 2
		return ok, fmt.Sprintf("phase %s %q, stable %q, available %d", ro.Status.Phase, ro.Status.Message, ro.Status.StableRS, ro.Status.AvailableReplicas)
	})
	if ctl.Exited() {
		t.Fatalf("the controller exited:\n%s", ctl.Output())
	}
}

// testCLIImage checks the kubectl-argo-rollouts image (the plugin and its
// dashboard) and the version its binary prints.
func testCLIImage(t *testing.T, images string) {
	data, labels := checkImage(t, images, "kubectl-argo-rollouts")
	bin := writeBinary(t, "kubectl-argo-rollouts", data)
	checkVersion(t, bin, labels, "version")
	out, err := exec.Command(bin, "dashboard", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--port") {
		t.Errorf("dashboard --help: %v\n%s", err, out)
	}
}
