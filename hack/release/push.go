package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func runPush(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	dir := fs.String("layout", "bin/image", "directory of the OCI layouts `release image` wrote (<layout>/<name>)")
	registry := fs.String("registry", "", "registry and repository prefix to push to, e.g. ghcr.io/you (images go to <registry>/<name>)")
	tags := fs.String("tags", "", "comma-separated tags to push (default: the tag each layout names its index by, the build's version)")
	names := fs.String("images", imageNames(), "comma-separated images to push")
	insecure := fs.Bool("insecure", false, "use plain HTTP (loopback and private addresses use it anyway)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *registry == "" {
		return fmt.Errorf("-registry is required (e.g. -registry ghcr.io/you; make image-push REGISTRY=ghcr.io/you)")
	}
	var tagList []string
	for _, t := range strings.Split(*tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tagList = append(tagList, t)
		}
	}
	for _, n := range strings.Split(*names, ",") {
		n = strings.TrimSpace(n)
		if _, ok := lookupImage(n); !ok {
			return fmt.Errorf("unknown image %q (have %s)", n, imageNames())
		}
		repo := strings.TrimSuffix(*registry, "/") + "/" + n
		if _, err := pushLayout(ctx, filepath.Join(*dir, n), repo, tagList, *insecure, authn.DefaultKeychain, os.Stdout); err != nil {
			return fmt.Errorf("push %s: %w", n, err)
		}
	}
	return nil
}

// pushLayout pushes the image index of the OCI layout in dir to repo under
// each tag (or the tag the layout names it by), authenticating with keychain,
// and returns the pushed references, each with its digest.
func pushLayout(ctx context.Context, dir, repo string, tags []string, insecure bool, keychain authn.Keychain, log io.Writer) ([]string, error) {
	idx, desc, err := layoutIndex(dir)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		t := desc.Annotations[annotationRefName]
		if t == "" {
			return nil, fmt.Errorf("%s names no tag (%s); give -tags", dir, annotationRefName)
		}
		tags = []string{t}
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	var pushed []string
	for _, tag := range tags {
		ref, err := name.NewTag(repo+":"+tag, opts...)
		if err != nil {
			return pushed, err
		}
		if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain)); err != nil {
			return pushed, fmt.Errorf("%s: %w", ref, err)
		}
		r := ref.String() + "@" + desc.Digest.String()
		fmt.Fprintf(log, "pushed %s\n", r)
		pushed = append(pushed, r)
	}
	return pushed, nil
}

// layoutIndex opens the OCI layout `release image` wrote and returns the one
// image index it holds, with the descriptor index.json gives it.
func layoutIndex(dir string) (v1.ImageIndex, v1.Descriptor, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("open the OCI layout %s (run `make image` first): %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	if len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		return nil, v1.Descriptor{}, fmt.Errorf("%s: want one image index in index.json, have %d entries", dir, len(m.Manifests))
	}
	desc := m.Manifests[0]
	idx, err := top.ImageIndex(desc.Digest)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	return idx, desc, nil
}
