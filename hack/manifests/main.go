// Command manifests builds Aviary's install manifests from the kustomize
// bases under manifests/:
//
//	manifests/crds               a copy of config/crd and its kustomization
//	charts/aviary/files/crds     the same copy, for the Helm chart's templates
//	dist/install.yaml            manifests/cluster-install: CRDs, namespace aviary,
//	                             RBAC (ClusterRole), controller, metrics Service,
//	                             aggregated admin/edit/view roles
//	dist/namespace-install.yaml  manifests/namespace-install: the controller for the
//	                             namespace it is applied to (Role), without CRDs
//	dist/dashboard-install.yaml  manifests/dashboard-install: the web dashboard
//
// The builds use kustomize's Go API, as `kubectl apply -k` would; -image and
// -dashboard-image set the images of the dist/ files (the bases keep the
// defaults).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	out := flag.String("out", "dist", "directory to write the built manifests into")
	crdDir := flag.String("crds", "config/crd", "directory of the generated CRDs")
	manifests := flag.String("manifests", "manifests", "directory of the kustomize bases")
	chart := flag.String("chart", "charts/aviary", "directory of the Helm chart")
	image := flag.String("image", DefaultImage, "controller image")
	dashboardImage := flag.String("dashboard-image", DefaultDashboardImage, "dashboard image (kubectl-argo-rollouts)")
	flag.Parse()

	if err := run(*out, *chart, Config{CRDDir: *crdDir, ManifestsDir: *manifests, Image: *image, DashboardImage: *dashboardImage}); err != nil {
		fmt.Fprintf(os.Stderr, "manifests: %v\n", err)
		os.Exit(1)
	}
}

func run(out, chart string, cfg Config) error {
	o, err := Render(cfg)
	if err != nil {
		return err
	}
	if err := replaceYAML(filepath.Join(cfg.ManifestsDir, "crds"), o.CRDs); err != nil {
		return err
	}
	if err := replaceYAML(filepath.Join(chart, "files", "crds"), o.ChartCRDs); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return writeAll(out, o.Dist)
}

// replaceYAML makes files the only YAML files of dir: a CRD removed from
// config/crd goes from the copies too.
func replaceYAML(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if _, keep := files[filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return writeAll(dir, files)
}

func writeAll(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if !strings.HasPrefix(n, "argoproj.io_") {
			fmt.Printf("wrote %s\n", p)
		}
	}
	return nil
}
