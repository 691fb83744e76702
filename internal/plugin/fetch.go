package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

// DownloadTimeout bounds one plugin's download: a server that stops
// answering must not hold the controller's start forever.
const DownloadTimeout = 5 * time.Minute

// Binary is a plugin's executable, fetched and verified.
type Binary struct {
	Item
	// Path is the executable's absolute path.
	Path string
	// Sum is the sha256 of its contents, checked again before each start.
	Sum []byte
}

// Fetcher puts plugin binaries into Dir, one file per plugin at
// <Dir>/<owner>/<name>, as Argo Rollouts lays out its plugin-bin.
type Fetcher struct {
	Dir string
	// Secrets reads the headersFrom Secrets, in Namespace.
	Secrets   client.Reader
	Namespace string
	// HTTP downloads; nil is a client with DownloadTimeout.
	HTTP *http.Client
	Log  *slog.Logger
}

// Fetch fetches every item, in order, and stops at the first that cannot be
// fetched: as Argo Rollouts, the controller does not start without its
// plugins. A binary whose sha256 differs from the item's is deleted
// before it was ever made executable.
func (f *Fetcher) Fetch(ctx context.Context, items []Item) ([]Binary, error) {
	var out []Binary
	for _, it := range items {
		b, err := f.fetch(ctx, it)
		if err != nil {
			return nil, fmt.Errorf("%s plugin %q from %s: %w", it.Kind, it.Name, metricprovider.RedactURL(it.Location), err)
		}
		out = append(out, b)
	}
	return out, nil
}

func (f *Fetcher) fetch(ctx context.Context, it Item) (Binary, error) {
	owner, name, _ := strings.Cut(it.Name, "/")
	dir, err := filepath.Abs(filepath.Join(f.Dir, owner))
	if err != nil {
		return Binary{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Binary{}, fmt.Errorf("create the plugin directory: %w", err)
	}
	final := filepath.Join(dir, name)
	// Written under a temporary name, not executable, until verified.
	tmp, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return Binary{}, fmt.Errorf("create the plugin file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	sum := sha256.New()
	start := time.Now()
	err = f.copy(ctx, it, io.MultiWriter(tmp, sum))
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write the plugin file: %w", cerr)
	}
	if err != nil {
		return Binary{}, err
	}
	if err := verify(it, sum); err != nil {
		return Binary{}, err
	}
	if err := os.Chmod(tmp.Name(), 0o700); err != nil {
		return Binary{}, fmt.Errorf("make the plugin executable: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Binary{}, fmt.Errorf("move the plugin into place: %w", err)
	}
	f.log().Info("plugin fetched", "kind", it.Kind, "plugin", it.Name, "location", metricprovider.RedactURL(it.Location),
		"path", final, "sha256", hex.EncodeToString(sum.Sum(nil)), "checksumVerified", it.Sha256 != "", "took", time.Since(start).Round(time.Millisecond).String())
	return Binary{Item: it, Path: final, Sum: sum.Sum(nil)}, nil
}

// verify compares the contents' checksum with the item's, when it has one.
func verify(it Item, sum hash.Hash) error {
	if it.Sha256 == "" {
		return nil
	}
	got := hex.EncodeToString(sum.Sum(nil))
	if !strings.EqualFold(got, it.Sha256) {
		return fmt.Errorf("sha256 mismatch: the binary's is %s, the ConfigMap's sha256 is %s; refusing to run it (check the location and the checksum)", got, strings.ToLower(it.Sha256))
	}
	return nil
}

// copy writes the binary at the item's location to w.
func (f *Fetcher) copy(ctx context.Context, it Item, w io.Writer) error {
	u, err := url.ParseRequestURI(it.Location)
	if err != nil {
		return errors.New("location is not a URL")
	}
	switch u.Scheme {
	case "file":
		// file://relative/path names a path relative to the working
		// directory, as in Argo Rollouts.
		src, err := os.Open(u.Host + u.Path)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		defer src.Close()
		if st, err := src.Stat(); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", u.Host+u.Path)
		}
		if _, err := io.Copy(w, src); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		return nil
	case "http", "https":
		return f.download(ctx, it, w)
	}
	return fmt.Errorf("location has scheme %q: use file://, http:// or https://", u.Scheme)
}

func (f *Fetcher) download(ctx context.Context, it Item, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, it.Location, nil)
	if err != nil {
		return errors.New("location is not a valid request URL")
	}
	for _, h := range it.HeadersFrom {
		var s corev1.Secret
		if err := f.Secrets.Get(ctx, types.NamespacedName{Namespace: f.Namespace, Name: h.SecretRef.Name}, &s); err != nil {
			return fmt.Errorf("read headersFrom Secret %s/%s: %w", f.Namespace, h.SecretRef.Name, err)
		}
		for k, v := range s.Data {
			req.Header.Add(k, string(v))
		}
	}
	c := f.HTTP
	if c == nil {
		c = &http.Client{Timeout: DownloadTimeout}
	}
	resp, err := c.Do(req)
	if err != nil {
		// The url package's error repeats the whole URL, which may carry
		// a token: keep only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("download: the server answered %s", resp.Status)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	return nil
}

func (f *Fetcher) log() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}
