// Command manifests writes Aviary's install manifests:
//
//	dist/install.yaml            CRDs, namespace aviary, RBAC (ClusterRole), controller, metrics Service
//	dist/namespace-install.yaml  the same controller limited to one namespace (Role), without CRDs
//
// The objects are built here in Go so both variants share one list of
// permissions; the CRDs are copied from config/crd (make generate).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "dist", "directory to write the manifests into")
	crdDir := flag.String("crds", "config/crd", "directory of the generated CRDs")
	image := flag.String("image", DefaultImage, "controller image")
	flag.Parse()

	files, err := Render(*crdDir, *image)
	if err != nil {
		fmt.Fprintf(os.Stderr, "manifests: %v\n", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "manifests: %v\n", err)
		os.Exit(1)
	}
	for name, data := range files {
		path := filepath.Join(*out, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "manifests: write %s: %v\n", path, err)
			os.Exit(1)
		}
		fmt.Printf("wrote %s\n", path)
	}
}
