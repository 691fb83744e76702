package cli

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestNotificationsCommands: the plugin has the engine's commands under
// notifications, as Argo Rollouts' does.
func TestNotificationsCommands(t *testing.T) {
	root := NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	for _, path := range [][]string{
		{"notifications", "template", "get"}, {"notifications", "template", "notify"},
		{"notifications", "trigger", "get"}, {"notifications", "trigger", "run"},
	} {
		cmd, _, err := root.Find(path)
		if err != nil || cmd.Name() != path[len(path)-1] || cmd.Parent().Name() != path[1] {
			t.Errorf("%v: found %v, %v", path, cmd.CommandPath(), err)
		}
	}
	notify, _, _ := root.Find([]string{"notifications", "template", "notify"})
	for _, flag := range []string{"config-map", "secret", "recipient", "kubeconfig", "namespace", "context"} {
		if notify.Flags().Lookup(flag) == nil && notify.InheritedFlags().Lookup(flag) == nil {
			t.Errorf("template notify lacks --%s", flag)
		}
	}
}

// TestNotificationsRefuseAsUserExtra: a kubeconfig flag of the plugin the
// engine cannot honour fails before anything is read or sent.
func TestNotificationsRefuseAsUserExtra(t *testing.T) {
	_, err := run(t, "notifications", "template", "get", "--as-user-extra", "team=a", "--config-map", "/nonexistent", "--secret", ":empty")
	if err == nil || !strings.Contains(err.Error(), "--as-user-extra is not supported") {
		t.Fatalf("got %v", err)
	}
}
