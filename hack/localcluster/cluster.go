package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cluster is one local control plane, identified by its state directory so
// that two checkouts on one machine never share (or stop) each other's.
type cluster struct {
	dir       string // holds kubeconfig and kwok's work directory
	nodes     int
	moduleDir string
	log       io.Writer
}

func (c *cluster) kubeconfig() string { return filepath.Join(c.dir, "kubeconfig") }
func (c *cluster) workdir() string    { return filepath.Join(c.dir, "kwok") }

// stagesStamp records which stages.yaml the running kwok was given: kwokctl
// copies the file when it creates the cluster, so an edit takes effect only
// in a new cluster.
func (c *cluster) stagesStamp() string { return filepath.Join(c.workdir(), "stages.sha256") }

func (c *cluster) name() string {
	sum := sha256.Sum256([]byte(c.dir))
	return "aviary-" + hex.EncodeToString(sum[:])[:8]
}

// controlPlaneFlags are extra flags of the control plane's components. One
// controller manager and one scheduler need no leader election, and with it
// a busy machine (the API server slow to answer a lease renewal within its
// 10 s deadline) made kube-controller-manager exit, stopping every
// ReplicaSet and namespace controller for the rest of the test run.
var controlPlaneFlags = []string{
	"--extra-args", "kube-controller-manager=leader-elect=false",
	"--extra-args", "kube-scheduler=leader-elect=false",
}

// up starts the cluster unless a healthy one is already running with the
// current stages.yaml; it is safe to call from several processes at once.
func (c *cluster) up() error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", c.dir, err)
	}
	stages, err := os.ReadFile(filepath.Join(c.moduleDir, "stages.yaml"))
	if err != nil {
		return err
	}
	// The stamp covers the control plane's own flags too, so a cluster
	// started with other flags is restarted like one with other stages.
	sum := sha256.Sum256(append(stages, []byte(strings.Join(controlPlaneFlags, "\n"))...))
	stagesSum := hex.EncodeToString(sum[:])
	unlock, err := lockFile(filepath.Join(c.dir, ".cluster.lock"))
	if err != nil {
		return err
	}
	defer unlock()

	bins, err := ensureBinaries(c.moduleDir, c.log)
	if err != nil {
		return err
	}
	if err := c.linkTools(bins); err != nil {
		return err
	}
	if c.healthy(bins["kubectl"]) {
		played, err := os.ReadFile(c.stagesStamp())
		if err != nil || strings.TrimSpace(string(played)) == stagesSum {
			// (A cluster started before stamps were written is taken to
			// play the current stages.)
			if err != nil {
				_ = os.WriteFile(c.stagesStamp(), []byte(stagesSum+"\n"), 0o644)
			}
			fmt.Fprintf(c.log, "localcluster: reusing running cluster %s\n", c.name())
			return nil
		}
		fmt.Fprintf(c.log, "localcluster: stages.yaml or the control plane flags changed since cluster %s started: restarting it with the new ones\n", c.name())
		if out, err := c.kwokctl(bins, "delete", "cluster").CombinedOutput(); err != nil {
			return fmt.Errorf("kwokctl delete cluster: %w\n%s", err, out)
		}
		_ = os.RemoveAll(c.workdir())
	}
	if exists(c.workdir()) {
		// Left over from a crash or a reboot: its processes are gone.
		fmt.Fprintf(c.log, "localcluster: removing stale cluster state in %s\n", c.workdir())
		_ = c.kwokctl(bins, "delete", "cluster").Run()
		_ = os.RemoveAll(c.workdir())
	}

	fmt.Fprintf(c.log, "localcluster: starting cluster %s (etcd %s, kube %s, kwok %s)\n", c.name(), etcdVersion, kubeVersion, kwokVersion)
	start := time.Now()
	create := c.kwokctl(bins, "create", "cluster",
		"--runtime", "binary",
		"--config", filepath.Join(c.moduleDir, "stages.yaml"),
		"--kubeconfig", c.kubeconfig(),
		"--etcd-binary", bins["etcd"],
		"--kube-apiserver-binary", bins["kube-apiserver"],
		"--kube-controller-manager-binary", bins["kube-controller-manager"],
		"--kube-scheduler-binary", bins["kube-scheduler"],
		"--kwok-controller-binary", bins["kwok"],
		// Tests create many objects quickly; client-side throttling in the
		// control plane would only make them slower, not more real.
		"--disable-qps-limits",
		"--wait", "2m",
	)
	create.Args = append(create.Args, controlPlaneFlags...)
	if out, err := create.CombinedOutput(); err != nil {
		return fmt.Errorf("kwokctl create cluster: %w\n%s", err, out)
	}
	if out, err := c.kwokctl(bins, "scale", "node", "--replicas", strconv.Itoa(c.nodes)).CombinedOutput(); err != nil {
		return fmt.Errorf("kwokctl scale node: %w\n%s", err, out)
	}
	if err := c.waitReady(bins["kubectl"]); err != nil {
		return err
	}
	if err := os.WriteFile(c.stagesStamp(), []byte(stagesSum+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.log, "localcluster: cluster %s ready with %d nodes in %s\n", c.name(), c.nodes, time.Since(start).Round(time.Second))
	return nil
}

// down stops the cluster's processes and removes its state.
func (c *cluster) down() error {
	unlockPath := filepath.Join(c.dir, ".cluster.lock")
	if !exists(c.workdir()) {
		_ = os.Remove(c.kubeconfig())
		fmt.Fprintln(c.log, "localcluster: no cluster running here")
		return nil
	}
	unlock, err := lockFile(unlockPath)
	if err != nil {
		return err
	}
	defer unlock()
	bins, err := ensureBinaries(c.moduleDir, c.log)
	if err != nil {
		return err
	}
	if out, err := c.kwokctl(bins, "delete", "cluster").CombinedOutput(); err != nil {
		return fmt.Errorf("kwokctl delete cluster: %w\n%s", err, out)
	}
	_ = os.RemoveAll(c.workdir())
	_ = os.Remove(c.kubeconfig())
	fmt.Fprintf(c.log, "localcluster: cluster %s stopped\n", c.name())
	return nil
}

func (c *cluster) kwokctl(bins map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(bins["kwokctl"], append([]string{"--name", c.name()}, args...)...)
	cmd.Env = append(os.Environ(),
		"KWOK_WORKDIR="+c.workdir(),
		"KWOK_KUBECTL_BINARY="+bins["kubectl"],
		"KWOK_KUBE_VERSION="+kubeVersion,
	)
	return cmd
}

// healthy reports whether this directory's cluster answers and has its nodes.
func (c *cluster) healthy(kubectl string) bool {
	if !exists(c.kubeconfig()) {
		return false
	}
	out, err := exec.Command(kubectl, "--kubeconfig", c.kubeconfig(), "--request-timeout", "5s", "get", "--raw", "/readyz").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		return false
	}
	out, err = exec.Command(kubectl, "--kubeconfig", c.kubeconfig(), "--request-timeout", "5s", "get", "nodes", "-o", "name").Output()
	return err == nil && len(strings.Fields(string(out))) >= c.nodes
}

// waitReady waits for the nodes to be Ready and for the default namespace's
// ServiceAccount, without which no pod can be created.
func (c *cluster) waitReady(kubectl string) error {
	k := func(args ...string) *exec.Cmd {
		return exec.Command(kubectl, append([]string{"--kubeconfig", c.kubeconfig()}, args...)...)
	}
	if out, err := k("wait", "--for=condition=Ready", "node", "--all", "--timeout=120s").CombinedOutput(); err != nil {
		return fmt.Errorf("nodes did not become Ready: %w\n%s", err, out)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := k("get", "serviceaccount", "default", "-n", "default").Run(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the default ServiceAccount never appeared: is kube-controller-manager running? (logs in %s)", c.workdir())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// linkTools puts kubectl and kwokctl of the cluster's version in <dir>/bin,
// so scripts and people use a client that matches the server.
func (c *cluster) linkTools(bins map[string]string) error {
	dir := filepath.Join(c.dir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, name := range []string{"kubectl", "kwokctl"} {
		link := filepath.Join(dir, name)
		_ = os.Remove(link)
		if err := os.Symlink(bins[name], link); err != nil {
			return fmt.Errorf("link %s: %w", link, err)
		}
	}
	return nil
}
