package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseStopped(t *testing.T) {
	for _, tc := range []struct {
		name, table string
		want        []string
	}{
		{"all running", "NAME STATUS\netcd Ready\nkube-apiserver Ready\nkube-controller-manager NotReady\n", nil},
		{"one stopped", "NAME                      STATUS\netcd                      Ready\nkube-controller-manager   Stopped\nkube-scheduler            Ready\n", []string{"kube-controller-manager"}},
		{"two stopped", "NAME STATUS\nkube-controller-manager Stopped\nkube-scheduler Stopped\n", []string{"kube-controller-manager", "kube-scheduler"}},
		{"an error row is not a stopped component", "NAME STATUS\nkwok-controller Error:no such component\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseStopped(tc.table); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseStopped = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestUpRestartsAnExitedControllerManager starts a real one-node cluster,
// kills its kube-controller-manager as its own start-up timeout would, and
// checks that the next up starts it again and that it then does its work.
func TestUpRestartsAnExitedControllerManager(t *testing.T) {
	moduleDir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	c := &cluster{dir: t.TempDir(), nodes: 1, moduleDir: moduleDir, log: &log}
	if err := c.up(); err != nil {
		t.Fatalf("up: %v\n%s", err, log.String())
	}
	t.Cleanup(func() {
		if err := c.down(); err != nil {
			t.Errorf("down: %v", err)
		}
	})

	pidFile := filepath.Join(c.workdir(), "clusters", c.name(), "pids", "kube-controller-manager.pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(50 * time.Millisecond)
	}

	log.Reset()
	if err := c.up(); err != nil {
		t.Fatalf("second up: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "kube-controller-manager of cluster "+c.name()+" is not running; starting it again") {
		t.Errorf("second up did not say it restarted the controller manager:\n%s", log.String())
	}

	// The restarted controller manager works: a new namespace gets its
	// ServiceAccount.
	bins, err := ensureBinaries(moduleDir, &log)
	if err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) ([]byte, error) {
		return exec.Command(bins["kubectl"], append([]string{"--kubeconfig", c.kubeconfig()}, args...)...).CombinedOutput()
	}
	if out, err := kubectl("create", "namespace", "restarted"); err != nil {
		t.Fatalf("create namespace: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := kubectl("get", "serviceaccount", "default", "-n", "restarted"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no default ServiceAccount in a new namespace 30 s after the restart; controller manager's log:\n%s", c.logTail("kube-controller-manager", 20))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
