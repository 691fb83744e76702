package plugin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

var binary = []byte("#!/bin/sh\necho plugin\n")

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fetchOne fetches it into a new directory, reading Secrets from objs,
// and returns the binaries, the directory, the log and the error.
func fetchOne(t *testing.T, it Item, objs ...client.Object) ([]Binary, string, string, error) {
	t.Helper()
	dir := t.TempDir()
	var log bytes.Buffer
	f := &Fetcher{Dir: dir, Namespace: "rollouts", Log: slog.New(slog.NewTextHandler(&log, nil)),
		Secrets: fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).Build()}
	it.Kind = MetricProvider
	bins, err := f.Fetch(context.Background(), []Item{it})
	return bins, dir, log.String(), err
}

// files lists the regular files under dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkFetched(t *testing.T, bins []Binary, dir string, want []byte) {
	t.Helper()
	if len(bins) != 1 {
		t.Fatalf("%d binaries, want 1", len(bins))
	}
	b := bins[0]
	if wantPath := filepath.Join(dir, "acme", "metric"); b.Path != wantPath {
		t.Errorf("path %s, want %s (<dir>/<owner>/<name>, as Argo Rollouts' plugin-bin)", b.Path, wantPath)
	}
	got, err := os.ReadFile(b.Path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("contents %q, %v; want %q", got, err, want)
	}
	if st, err := os.Stat(b.Path); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, %v; want 0700", st.Mode(), err)
	}
	if hex.EncodeToString(b.Sum) != sumOf(want) {
		t.Errorf("sum %x, want %s", b.Sum, sumOf(want))
	}
	if fs := files(t, dir); len(fs) != 1 {
		t.Errorf("files %v, want only the binary", fs)
	}
}

func TestFetchFile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "plugin")
	if err := os.WriteFile(src, binary, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sha := range []string{"", sumOf(binary), strings.ToUpper(sumOf(binary))} {
		bins, dir, _, err := fetchOne(t, Item{Name: "acme/metric", Location: "file://" + src, Sha256: sha})
		if err != nil {
			t.Fatalf("sha256 %q: %v", sha, err)
		}
		checkFetched(t, bins, dir, binary)
	}
}

func TestFetchFileRelative(t *testing.T) {
	// file://./path is relative to the working directory, as in Argo
	// Rollouts.
	wd := t.TempDir()
	t.Chdir(wd)
	if err := os.WriteFile(filepath.Join(wd, "plugin"), binary, 0o600); err != nil {
		t.Fatal(err)
	}
	bins, dir, _, err := fetchOne(t, Item{Name: "acme/metric", Location: "file://./plugin"})
	if err != nil {
		t.Fatal(err)
	}
	checkFetched(t, bins, dir, binary)
}

func TestFetchHTTP(t *testing.T) {
	token := "Bearer gh-s3cret-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/releases/v1/plugin-linux-amd64" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		// Every key of every headersFrom Secret is a header.
		if r.Header.Get("Authorization") != token || r.Header.Get("X-Team") != "payments" || r.Header.Get("X-Other") != "2" {
			http.Error(w, "missing headers", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(binary)
	}))
	defer srv.Close()
	secrets := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "rollouts", Name: "github"},
			Data: map[string][]byte{"Authorization": []byte(token), "X-Team": []byte("payments")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "rollouts", Name: "other"},
			Data: map[string][]byte{"X-Other": []byte("2")}},
	}
	it := Item{Name: "acme/metric", Location: srv.URL + "/releases/v1/plugin-linux-amd64", Sha256: sumOf(binary),
		HeadersFrom: []HeadersFrom{{SecretRef: SecretRef{Name: "github"}}, {SecretRef: SecretRef{Name: "other"}}}}
	bins, dir, log, err := fetchOne(t, it, secrets...)
	if err != nil {
		t.Fatal(err)
	}
	checkFetched(t, bins, dir, binary)
	if strings.Contains(log, "s3cret") {
		t.Errorf("the log holds a header's value:\n%s", log)
	}
	if !strings.Contains(log, `msg="plugin fetched"`) || !strings.Contains(log, "checksumVerified=true") {
		t.Errorf("the log does not say the plugin was fetched and verified:\n%s", log)
	}

	// A Secret in another namespace is not the controller's.
	moved := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "github"}, Data: map[string][]byte{"Authorization": []byte(token)}}
	_, _, _, err = fetchOne(t, Item{Name: "acme/metric", Location: srv.URL + "/releases/v1/plugin-linux-amd64",
		HeadersFrom: []HeadersFrom{{SecretRef: SecretRef{Name: "github"}}}}, moved)
	if err == nil || !strings.Contains(err.Error(), "read headersFrom Secret rollouts/github") {
		t.Errorf("missing Secret: %v", err)
	}
}

func TestFetchHTTPFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, c := range []struct {
		name, location, want string
	}{
		{"not found", srv.URL + "/plugin?token=s3cret", `MetricProvider plugin "acme/metric" from ` + srv.URL + `/plugin: download: the server answered 404 Not Found`},
		{"nothing listening", dead.URL + "/plugin?token=s3cret", `MetricProvider plugin "acme/metric" from ` + dead.URL + `/plugin: download: dial tcp`},
		{"no file", "file:///nonexistent/plugin", `from file:///nonexistent/plugin: open: open /nonexistent/plugin: no such file or directory`},
		{"a directory", "file://" + t.TempDir(), `is not a regular file`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, dir, _, err := fetchOne(t, Item{Name: "acme/metric", Location: c.location})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the URL's query: %v", err)
			}
			if fs := files(t, dir); len(fs) != 0 {
				t.Errorf("left files behind: %v", fs)
			}
		})
	}
}

// A binary whose sha256 is not the ConfigMap's is deleted before it was
// ever made executable, whichever way it came.
func TestFetchChecksumMismatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(binary) }))
	defer srv.Close()
	src := filepath.Join(t.TempDir(), "plugin")
	if err := os.WriteFile(src, binary, 0o700); err != nil {
		t.Fatal(err)
	}
	other := sumOf([]byte("another build"))
	for _, loc := range []string{srv.URL + "/plugin", "file://" + src} {
		_, dir, _, err := fetchOne(t, Item{Name: "acme/metric", Location: loc, Sha256: other})
		want := "sha256 mismatch: the binary's is " + sumOf(binary) + ", the ConfigMap's sha256 is " + other + "; refusing to run it"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", loc, err, want)
		}
		if fs := files(t, dir); len(fs) != 0 {
			t.Errorf("%s: left files behind: %v", loc, fs)
		}
	}
}
