package main

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageSpec is one image: a binary from ./cmd/<Name> as the entrypoint.
type imageSpec struct {
	Name        string
	Description string
	Ports       []string // documented in the config's ExposedPorts
}

// images are the images `make image` builds.
var images = []imageSpec{
	{Name: "aviary-controller", Description: "Aviary, a progressive-delivery controller serving the Argo Rollouts API", Ports: []string{"8080/tcp", "8090/tcp"}},
	{Name: "kubectl-argo-rollouts", Description: "The kubectl argo rollouts plugin of Aviary; `dashboard` serves the UI", Ports: []string{"3100/tcp"}},
}

const (
	// The unprivileged user and group the images run as (distroless's
	// "nonroot" numbers, which the install manifests' securityContext names).
	nonrootUID = 65532
	binDir     = "/usr/local/bin"
	homeDir    = "/home/nonroot"
	caBundle   = "/etc/ssl/certs/ca-certificates.crt"

	// The OCI annotation keys, as labels in the config and annotations on
	// the index.
	labelTitle       = "org.opencontainers.image.title"
	labelDescription = "org.opencontainers.image.description"
	labelVersion     = "org.opencontainers.image.version"
	labelRevision    = "org.opencontainers.image.revision"
	labelCreated     = "org.opencontainers.image.created"
	labelSource      = "org.opencontainers.image.source"
	labelLicenses    = "org.opencontainers.image.licenses"
	// The tag an OCI layout names its index by.
	annotationRefName = "org.opencontainers.image.ref.name"
)

// imageMeta is what every image of one build is labelled with.
type imageMeta struct {
	stamp
	Source   string
	Licenses string
	// CACerts is the CA bundle copied to /etc/ssl/certs/ca-certificates.crt.
	CACerts string
}

func runImage(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	var meta imageMeta
	bindStamp(fs, &meta.stamp)
	out := fs.String("out", "bin/image", "directory to write one OCI layout per image into (<out>/<name>)")
	names := fs.String("images", imageNames(), "comma-separated images to build")
	plats := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated os/arch pairs of each image index")
	fs.StringVar(&meta.Source, "source", "https://github.com/aviary-rollouts/aviary", "org.opencontainers.image.source")
	fs.StringVar(&meta.Licenses, "licenses", "NOASSERTION", "org.opencontainers.image.licenses (an SPDX expression)")
	fs.StringVar(&meta.CACerts, "ca-certs", caBundle, "CA certificate bundle (PEM) to put at "+caBundle+" in the images")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if err := meta.complete(root); err != nil {
		return err
	}
	platforms, err := parsePlatforms(*plats)
	if err != nil {
		return err
	}
	var specs []imageSpec
	for _, n := range strings.Split(*names, ",") {
		s, ok := lookupImage(strings.TrimSpace(n))
		if !ok {
			return fmt.Errorf("unknown image %q (have %s)", n, imageNames())
		}
		specs = append(specs, s)
	}
	outDir := *out
	if !filepath.IsAbs(outDir) {
		wd, _ := os.Getwd()
		outDir = filepath.Join(wd, outDir)
	}

	tmp, err := os.MkdirTemp("", "aviary-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// binaries[platform][image name] is the built binary's path.
	binaries := map[platform]map[string]string{}
	var pkgs []string
	for _, s := range specs {
		pkgs = append(pkgs, "./cmd/"+s.Name)
	}
	for _, p := range platforms {
		dir := filepath.Join(tmp, p.OS+"_"+p.Arch)
		took, err := goBuild(ctx, root, p, meta.LDFlags, dir+string(filepath.Separator), pkgs...)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "built %s for %s in %s\n", strings.Join(pkgs, " "), p, took.Round(100*time.Millisecond))
		binaries[p] = map[string]string{}
		for _, s := range specs {
			binaries[p][s.Name] = filepath.Join(dir, s.Name)
		}
	}
	for _, s := range specs {
		bins := map[platform]string{}
		for _, p := range platforms {
			bins[p] = binaries[p][s.Name]
		}
		idx, err := buildIndex(s, meta, platforms, bins)
		if err != nil {
			return fmt.Errorf("image %s: %w", s.Name, err)
		}
		dir := filepath.Join(outDir, s.Name)
		if err := writeLayout(dir, idx, tagOf(meta.Version)); err != nil {
			return fmt.Errorf("image %s: %w", s.Name, err)
		}
		d, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Printf("%s: OCI layout %s, index %s (%s)\n", s.Name, dir, d, platformList(platforms))
	}
	return nil
}

func imageNames() string {
	var n []string
	for _, s := range images {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func lookupImage(name string) (imageSpec, bool) {
	for _, s := range images {
		if s.Name == name {
			return s, true
		}
	}
	return imageSpec{}, false
}

func platformList(ps []platform) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

var notTagChar = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// tagOf turns a version into a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}).
func tagOf(v string) string {
	t := notTagChar.ReplaceAllString(v, "-")
	t = strings.TrimLeft(t, ".-")
	if len(t) > 128 {
		t = t[:128]
	}
	if t == "" {
		return "dev"
	}
	return t
}

// labels are the OCI labels of spec's image (and the annotations of its index).
func labels(spec imageSpec, meta imageMeta) map[string]string {
	return map[string]string{
		labelTitle:       spec.Name,
		labelDescription: spec.Description,
		labelVersion:     meta.Version,
		labelRevision:    meta.Commit,
		labelCreated:     meta.Created,
		labelSource:      meta.Source,
		labelLicenses:    meta.Licenses,
	}
}

// buildIndex assembles spec's image for each platform from the binaries
// (bins[p] is the path of the binary for p) into an OCI image index.
func buildIndex(spec imageSpec, meta imageMeta, platforms []platform, bins map[platform]string) (v1.ImageIndex, error) {
	created, err := time.Parse(time.RFC3339, meta.Created)
	if err != nil {
		return nil, err
	}
	base, err := baseLayer(meta.CACerts, created)
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		img, err := buildImage(spec, meta, p, bins[p], base, created)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}},
		})
	}
	annotated, ok := mutate.Annotations(idx, labels(spec, meta)).(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("annotating the index did not give an index")
	}
	return annotated, nil
}

// buildImage is one platform's image: the shared base layer, then a layer
// with the binary, run as the nonroot user with the binary as entrypoint.
func buildImage(spec imageSpec, meta imageMeta, p platform, bin string, base v1.Layer, created time.Time) (v1.Image, error) {
	binLayer, err := binaryLayer(spec.Name, bin, created)
	if err != nil {
		return nil, err
	}
	entrypoint := path.Join(binDir, spec.Name)
	ports := map[string]struct{}{}
	for _, port := range spec.Ports {
		ports[port] = struct{}{}
	}
	cfg := &v1.ConfigFile{
		Architecture: p.Arch,
		OS:           p.OS,
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			Entrypoint:   []string{entrypoint},
			User:         fmt.Sprintf("%d:%d", nonrootUID, nonrootUID),
			Env:          []string{"PATH=" + binDir, "HOME=" + homeDir},
			WorkingDir:   homeDir,
			Labels:       labels(spec, meta),
			ExposedPorts: ports,
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	by := "github.com/aviary-rollouts/aviary/hack/release"
	return mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: v1.Time{Time: created}, CreatedBy: by,
			Comment: "/etc/passwd and /etc/group with nonroot (65532), " + caBundle + ", " + homeDir + ", /tmp"}},
		mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer, History: v1.History{
			Created: v1.Time{Time: created}, CreatedBy: by,
			Comment: entrypoint + " (go build -trimpath, CGO_ENABLED=0, " + p.String() + ")"}},
	)
}

// tarEntry is one file or directory of a layer.
type tarEntry struct {
	Name string // absolute path in the image
	Dir  bool
	Mode int64
	UID  int
	Data []byte // files only
	From string // files only: read the content from this path instead
}

// baseLayer holds what every image shares: the users, the CA bundle and the
// directories a non-root process may write to.
func baseLayer(caCerts string, created time.Time) (v1.Layer, error) {
	ca, err := os.ReadFile(caCerts)
	if err != nil {
		return nil, fmt.Errorf("read the CA bundle (-ca-certs; Debian and Ubuntu have it with the ca-certificates package): %w", err)
	}
	entries := []tarEntry{
		{Name: "/etc", Dir: true, Mode: 0o755},
		{Name: "/etc/passwd", Mode: 0o644, Data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				fmt.Sprintf("nonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", nonrootUID, nonrootUID, homeDir))},
		{Name: "/etc/group", Mode: 0o644, Data: []byte(
			"root:x:0:\n" + fmt.Sprintf("nonroot:x:%d:\n", nonrootUID))},
		{Name: "/etc/ssl", Dir: true, Mode: 0o755},
		{Name: "/etc/ssl/certs", Dir: true, Mode: 0o755},
		{Name: caBundle, Mode: 0o644, Data: ca},
		{Name: "/home", Dir: true, Mode: 0o755},
		{Name: homeDir, Dir: true, Mode: 0o700, UID: nonrootUID},
		{Name: "/tmp", Dir: true, Mode: 0o1777},
		{Name: "/usr", Dir: true, Mode: 0o755},
		{Name: "/usr/local", Dir: true, Mode: 0o755},
		{Name: binDir, Dir: true, Mode: 0o755},
	}
	return tarLayer(entries, created)
}

func binaryLayer(name, bin string, created time.Time) (v1.Layer, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, err
	}
	return tarLayer([]tarEntry{{Name: path.Join(binDir, name), Mode: 0o755, From: bin}}, created)
}

// tarLayer writes the entries as an uncompressed tar and hands it to
// go-containerregistry, which compresses and digests it. Every entry has the
// build date as its time, so a build is reproducible from its inputs.
func tarLayer(entries []tarEntry, created time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    strings.TrimPrefix(e.Name, "/"),
			Mode:    e.Mode,
			Uid:     e.UID,
			Gid:     e.UID,
			ModTime: created,
			Format:  tar.FormatPAX,
		}
		if e.UID == nonrootUID {
			hdr.Uname, hdr.Gname = "nonroot", "nonroot"
		} else {
			hdr.Uname, hdr.Gname = "root", "root"
		}
		data := e.Data
		if e.Dir {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		} else {
			hdr.Typeflag = tar.TypeReg
			if e.From != "" {
				var err error
				if data, err = os.ReadFile(e.From); err != nil {
					return nil, err
				}
			}
			hdr.Size = int64(len(data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// writeLayout replaces dir with an OCI layout whose index.json names idx by
// tag (org.opencontainers.image.ref.name). It is written beside dir and
// renamed into place, so a failed build leaves the previous layout.
func writeLayout(dir string, idx v1.ImageIndex, tag string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{annotationRefName: tag})); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}
