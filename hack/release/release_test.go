package main

import (
	"archive/tar"
	"bufio"
	"context"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var testMeta = imageMeta{
	stamp:    stamp{Version: "v0.0.1+test", Commit: "0123456789abcdef0123456789abcdef01234567", Created: "2026-01-02T03:04:05Z"},
	Source:   "https://example.invalid/aviary",
	Licenses: "NOASSERTION",
}

// fakeLayout writes an OCI layout of the controller image whose "binaries"
// are small files naming their platform.
func fakeLayout(t *testing.T) (string, v1.ImageIndex) {
	t.Helper()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	meta := testMeta
	meta.CACerts = ca
	platforms := []platform{{"linux", "amd64"}, {"linux", "arm64"}}
	bins := map[platform]string{}
	for _, p := range platforms {
		bins[p] = filepath.Join(dir, p.Arch)
		if err := os.WriteFile(bins[p], []byte("binary for "+p.String()), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec, _ := lookupImage("aviary-controller")
	idx, err := buildIndex(spec, meta, platforms, bins)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image", spec.Name)
	if err := writeLayout(out, idx, tagOf(meta.Version)); err != nil {
		t.Fatal(err)
	}
	return out, idx
}

// files reads an image's flattened filesystem: path → header and content.
func files(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	hdrs, data := map[string]*tar.Header{}, map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + strings.TrimSuffix(h.Name, "/")
		hdrs[p], data[p] = h, string(b)
	}
	return hdrs, data
}

func TestImageLayout(t *testing.T) {
	dir, built := fakeLayout(t)
	idx, desc, err := layoutIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.Annotations[annotationRefName]; got != "v0.0.1-test" {
		t.Errorf("ref.name %q, want the version as a tag", got)
	}
	if d1, _ := idx.Digest(); d1 != desc.Digest {
		t.Errorf("index digest %s, descriptor %s", d1, desc.Digest)
	}
	if d1, _ := idx.Digest(); func() bool { d2, _ := built.Digest(); return d1 != d2 }() {
		t.Errorf("the layout's index differs from the built one")
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex || m.Annotations[labelTitle] != "aviary-controller" || m.Annotations[labelRevision] != testMeta.Commit {
		t.Errorf("index: media type %s, annotations %v", m.MediaType, m.Annotations)
	}
	if len(m.Manifests) != 2 {
		t.Fatalf("index has %d manifests, want amd64 and arm64", len(m.Manifests))
	}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != cfg.Architecture {
			t.Errorf("descriptor platform %v, config %s/%s", d.Platform, cfg.OS, cfg.Architecture)
		}
		if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
			t.Errorf("manifest media type %s", mt)
		}
		c := cfg.Config
		if strings.Join(c.Entrypoint, " ") != "/usr/local/bin/aviary-controller" || c.User != "65532:65532" || len(c.Cmd) != 0 {
			t.Errorf("config: entrypoint %v, cmd %v, user %q", c.Entrypoint, c.Cmd, c.User)
		}
		for k, want := range map[string]string{
			labelTitle: "aviary-controller", labelVersion: "v0.0.1+test", labelRevision: testMeta.Commit,
			labelCreated: "2026-01-02T03:04:05Z", labelSource: testMeta.Source, labelLicenses: "NOASSERTION",
		} {
			if c.Labels[k] != want {
				t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
			}
		}
		hdrs, data := files(t, img)
		bin := hdrs["/usr/local/bin/aviary-controller"]
		if bin == nil || bin.Mode != 0o755 || data["/usr/local/bin/aviary-controller"] != "binary for linux/"+cfg.Architecture {
			t.Errorf("binary: %+v %q", bin, data["/usr/local/bin/aviary-controller"])
		}
		if !strings.Contains(data["/etc/passwd"], "nonroot:x:65532:65532:") || !strings.Contains(data["/etc/group"], "nonroot:x:65532:") {
			t.Errorf("passwd %q, group %q", data["/etc/passwd"], data["/etc/group"])
		}
		if !strings.Contains(data[caBundle], "BEGIN CERTIFICATE") {
			t.Errorf("no CA bundle at %s", caBundle)
		}
		if h := hdrs["/home/nonroot"]; h == nil || h.Uid != 65532 || h.Typeflag != tar.TypeDir {
			t.Errorf("home: %+v", h)
		}
		if h := hdrs["/tmp"]; h == nil || h.Mode&0o1777 != 0o1777 {
			t.Errorf("/tmp: %+v", h)
		}
		for p := range hdrs {
			if strings.HasPrefix(p, "/bin") || strings.HasSuffix(p, "/sh") {
				t.Errorf("the image has %s: no shell or /bin wanted", p)
			}
		}
	}
}

// TestImageIsReproducible: the same inputs give the same digest.
func TestImageIsReproducible(t *testing.T) {
	_, a := fakeLayout(t)
	_, b := fakeLayout(t)
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds from the same inputs: %s and %s", da, db)
	}
}

// TestPushToRegistry pushes a layout to go-containerregistry's in-process
// registry behind basic auth, with the credentials only in a docker config
// (DOCKER_CONFIG), as `docker login` leaves them.
func TestPushToRegistry(t *testing.T) {
	dir, idx := fakeLayout(t)
	const user, pass = "robot", "s3cret"
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var unauthorized, authorized atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		authorized.Add(1)
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	if !strings.HasPrefix(host, "127.0.0.1:") {
		t.Fatalf("test registry at %s, want loopback", host)
	}

	cfgDir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfgDir)

	repo := host + "/you/aviary-controller"
	var out strings.Builder
	pushed, err := pushLayout(context.Background(), dir, repo, nil, false, authn.DefaultKeychain, &out)
	if err != nil {
		t.Fatalf("push: %v (output %q)", err, out.String())
	}
	want, _ := idx.Digest()
	if len(pushed) != 1 || pushed[0] != repo+":v0.0.1-test@"+want.String() {
		t.Errorf("pushed %v, want %s:v0.0.1-test@%s", pushed, repo, want)
	}
	if _, err := pushLayout(context.Background(), dir, repo, []string{"latest", "edge"}, false, authn.DefaultKeychain, &out); err != nil {
		t.Fatal(err)
	}
	if unauthorized.Load() == 0 || authorized.Load() == 0 {
		t.Errorf("the registry saw %d unauthorized and %d authorized requests; want the challenge answered with the docker config's credentials", unauthorized.Load(), authorized.Load())
	}

	keys := remote.WithAuth(&authn.Basic{Username: user, Password: pass})
	for _, tag := range []string{"v0.0.1-test", "latest", "edge"} {
		ref, err := name.NewTag(repo + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Index(ref, keys)
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if d, _ := got.Digest(); d != want {
			t.Errorf("%s is %s, want %s", ref, d, want)
		}
		m, err := got.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Manifests) != 2 {
			t.Errorf("%s: %d platforms", ref, len(m.Manifests))
		}
		for _, d := range m.Manifests {
			img, err := got.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if _, data := files(t, img); data["/usr/local/bin/aviary-controller"] != "binary for linux/"+d.Platform.Architecture {
				t.Errorf("%s %s: wrong binary after the round trip", ref, d.Platform.Architecture)
			}
		}
	}

	// The command line, as `make image-push` runs it.
	if err := runPush(context.Background(), []string{"-layout", filepath.Dir(dir), "-registry", host + "/cli/", "-images", "aviary-controller", "-tags", "v1,v2"}); err != nil {
		t.Fatalf("release push: %v", err)
	}
	for _, tag := range []string{"v1", "v2"} {
		ref, err := name.NewTag(host + "/cli/aviary-controller:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := remote.Index(ref, keys); err != nil {
			t.Errorf("pull %s: %v", ref, err)
		} else if d, _ := got.Digest(); d != want {
			t.Errorf("%s is %s, want %s", ref, d, want)
		}
	}
	if err := runPush(context.Background(), []string{"-layout", filepath.Dir(dir), "-images", "aviary-controller"}); err == nil || !strings.Contains(err.Error(), "-registry is required") {
		t.Errorf("push without -registry: %v", err)
	}

	// Without credentials the push fails and says so.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, err := pushLayout(context.Background(), dir, repo, []string{"nocreds"}, false, authn.DefaultKeychain, io.Discard); err == nil {
		t.Error("a push without credentials succeeded")
	}
}

func TestTagOf(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":                 "v1.2.3",
		"v1.2.3-4-gabc-dirty":    "v1.2.3-4-gabc-dirty",
		"v1.2.3+build":           "v1.2.3-build",
		"":                       "dev",
		".hidden":                "hidden",
		strings.Repeat("a", 200): strings.Repeat("a", 128),
	} {
		if got := tagOf(in); got != want {
			t.Errorf("tagOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDistName(t *testing.T) {
	if got := distName(platform{"windows", "arm64"}); got != "kubectl-argo-rollouts-windows-arm64.exe" {
		t.Error(got)
	}
	if got := distName(platform{"darwin", "amd64"}); got != "kubectl-argo-rollouts-darwin-amd64" {
		t.Error(got)
	}
	ps, err := parsePlatforms(distPlatforms)
	if err != nil || len(ps) != 6 {
		t.Errorf("dist platforms %v, %v", ps, err)
	}
	for _, bad := range []string{"", "linux", "linux/", "/amd64", "linux/arm/v7"} {
		if _, err := parsePlatforms(bad); err == nil {
			t.Errorf("parsePlatforms(%q) accepted", bad)
		}
	}
}

var sumLine = regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)

// TestDist cross-compiles the plugin for linux/arm64 only (the other five
// platforms are `make dist`'s) and checks SHA256SUMS against the files, with
// sha256sum -c too where it is installed. A stale binary of an earlier run
// is removed, so the sums list exactly what was built.
func TestDist(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles kubectl-argo-rollouts")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	stale := filepath.Join(out, "kubectl-argo-rollouts-plan9-386")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := stamp{Version: "v0.0.2-dist", Commit: "feedface", Created: "2026-01-02T03:04:05Z"}
	if err := s.complete(root); err != nil {
		t.Fatal(err)
	}
	files, err := buildDist(context.Background(), root, out, s.LDFlags, []platform{{"linux", "arm64"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0] != "kubectl-argo-rollouts-linux-arm64" {
		t.Fatalf("built %v", files)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale binary is still there: %v", err)
	}
	f, err := os.Open(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines++
		m := sumLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("SHA256SUMS line %q is not sha256sum's format", sc.Text())
		}
		got, err := sha256File(filepath.Join(out, m[2]))
		if err != nil || got != m[1] {
			t.Errorf("%s: sum %s, file hashes to %s (%v)", m[2], m[1], got, err)
		}
	}
	if lines != 1 {
		t.Errorf("SHA256SUMS has %d lines, want 1", lines)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "-c", "--strict", "SHA256SUMS")
		cmd.Dir = out
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, b)
		}
	}
	bin, err := elf.Open(filepath.Join(out, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	if bin.Machine != elf.EM_AARCH64 {
		t.Errorf("built for %s, want aarch64", bin.Machine)
	}
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: not static")
		}
	}
	// The stamp is in the binary.
	raw, err := os.ReadFile(filepath.Join(out, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"v0.0.2-dist", "feedface", "2026-01-02T03:04:05Z"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the binary lacks the stamp %q", want)
		}
	}
}
