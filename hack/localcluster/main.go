// Command localcluster builds and runs Aviary's local Kubernetes control plane:
// a real etcd, kube-apiserver, kube-controller-manager and kube-scheduler, with
// pods on fake nodes simulated by kwok. Tests, the demo and `make run` use it.
//
//	localcluster up   [--dir .local] [--nodes 3]   start, or reuse a healthy cluster
//	localcluster down [--dir .local]               stop it and remove its state
//	localcluster binaries                          build the cached binaries only
//
// It is its own Go module because building the Kubernetes components needs
// k8s.io/kubernetes in the module graph, which the controller must not carry.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	dir := fs.String("dir", ".local", "directory for the kubeconfig and cluster state")
	nodes := fs.Int("nodes", 3, "number of fake nodes")
	_ = fs.Parse(args)

	moduleDir, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	if !exists(filepath.Join(moduleDir, "stages.yaml")) {
		fail(fmt.Errorf("run localcluster from its own directory (hack/localcluster), not %s", moduleDir))
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	c := &cluster{dir: abs, nodes: *nodes, moduleDir: moduleDir, log: os.Stderr}

	switch cmd {
	case "up":
		err = c.up()
		if err == nil {
			fmt.Printf("export KUBECONFIG=%s\n", c.kubeconfig())
		}
	case "down":
		err = c.down()
	case "binaries":
		var paths map[string]string
		paths, err = ensureBinaries(moduleDir, os.Stderr)
		for name, p := range paths {
			fmt.Printf("%s=%s\n", name, p)
		}
	default:
		usage()
	}
	if err != nil {
		fail(err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: localcluster up|down|binaries [--dir DIR] [--nodes N]")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
	os.Exit(1)
}
