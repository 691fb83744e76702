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
			// The API server answering says nothing of the controller
			// manager: one that exited would leave every later test
			// without ReplicaSet pods or ServiceAccounts.
			if err := c.waitReady(bins); err != nil {
				return err
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
	if err := c.waitReady(bins); err != nil {
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
// ServiceAccount, without which no pod can be created, and starts again any
// component that has exited.
//
// kwokctl starts kube-controller-manager beside the API server without
// waiting for it, and the controller manager exits for good when the API
// server is not healthy within its first 10 s, which happens on a loaded
// machine; kwokctl does not supervise its processes.
func (c *cluster) waitReady(bins map[string]string) error {
	k := func(args ...string) *exec.Cmd {
		return exec.Command(bins["kubectl"], append([]string{"--kubeconfig", c.kubeconfig()}, args...)...)
	}
	restarts := 0
	deadline := time.Now().Add(3 * time.Minute)
	for {
		stopped, err := c.stoppedComponents(bins)
		if err != nil {
			return err
		}
		if len(stopped) > 0 {
			if restarts == maxRestarts {
				return fmt.Errorf("%s exited again after %d restarts; last lines of its log:\n%s", strings.Join(stopped, ", "), restarts, c.logTail(stopped[0], 30))
			}
			restarts++
			for _, name := range stopped {
				fmt.Fprintf(c.log, "localcluster: %s of cluster %s is not running; starting it again. Last lines of its log:\n%s\n", name, c.name(), c.logTail(name, 10))
			}
			if out, err := c.kwokctl(bins, "start", "cluster").CombinedOutput(); err != nil {
				return fmt.Errorf("kwokctl start cluster: %w\n%s", err, out)
			}
			continue
		}
		nodes := k("wait", "--for=condition=Ready", "node", "--all", "--timeout=5s").Run() == nil
		if nodes && k("get", "serviceaccount", "default", "-n", "default").Run() == nil {
			return nil
		}
		if time.Now().After(deadline) {
			what := "the default ServiceAccount never appeared"
			if !nodes {
				what = "the nodes did not become Ready"
			}
			return fmt.Errorf("%s (logs in %s); last lines of kube-controller-manager's log:\n%s", what, c.workdir(), c.logTail("kube-controller-manager", 30))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// maxRestarts bounds how often waitReady starts exited components again, so
// a component that cannot run fails the start with its log, not a long wait.
const maxRestarts = 3

// stoppedComponents names the cluster's components whose process has exited.
func (c *cluster) stoppedComponents(bins map[string]string) ([]string, error) {
	out, err := c.kwokctl(bins, "get", "components", "-o", "wide").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("kwokctl get components: %w\n%s", err, out)
	}
	return parseStopped(string(out)), nil
}

// parseStopped reads `kwokctl get components -o wide`: a NAME STATUS table.
func parseStopped(table string) []string {
	var stopped []string
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[1] == "Stopped" {
			stopped = append(stopped, f[0])
		}
	}
	return stopped
}

// logTail returns the last n lines of a component's log, for an error that
// must be diagnosable from a CI transcript alone.
func (c *cluster) logTail(component string, n int) string {
	data, err := os.ReadFile(filepath.Join(c.workdir(), "clusters", c.name(), "logs", component+".log"))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
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
