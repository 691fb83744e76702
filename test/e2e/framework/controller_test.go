package framework

import (
	"slices"
	"strings"
	"testing"
)

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, output string
		want         []string
	}{
		{"none", "level=info msg=reconciled\n", nil},
		{
			name: "klog and a structured log, repeated",
			output: `W0101 reflector.go:1] failed to list *v1.Experiment: experiments.argoproj.io is forbidden: User "system:serviceaccount:aviary-e2e:aviary-e2e-controller" cannot list resource "experiments" in API group "argoproj.io" in the namespace "e2e-a"
level=warning msg="cannot look for X" error="trafficsplits.split.smi-spec.io is forbidden: User \"system:serviceaccount:aviary-e2e:aviary-e2e-controller\" cannot list resource \"trafficsplits\" in API group \"split.smi-spec.io\" in the namespace \"e2e-b\""
W0101 reflector.go:1] failed to list *v1.Experiment: experiments.argoproj.io is forbidden: User "system:serviceaccount:aviary-e2e:aviary-e2e-controller" cannot list resource "experiments" in API group "argoproj.io" in the namespace "e2e-c"
`,
			want: []string{
				`User "system:serviceaccount:aviary-e2e:aviary-e2e-controller" cannot list resource "experiments" in API group "argoproj.io"`,
				`User \"system:serviceaccount:aviary-e2e:aviary-e2e-controller\" cannot list resource \"trafficsplits\" in API group \"split.smi-spec.io\"`,
			},
		},
		{
			name:   "a path",
			output: `error="forbidden: User \"system:serviceaccount:aviary-e2e:aviary-e2e-controller\" cannot impersonate-on:user-info:get path \"/apis/argoproj.io/v1alpha1\""`,
			want:   []string{`User \"system:serviceaccount:aviary-e2e:aviary-e2e-controller\" cannot impersonate-on:user-info:get path \"/apis/argoproj.io/v1alpha1\"`},
		},
		{
			name:   "another user's refusal is the test's business",
			output: `secrets is forbidden: User "system:serviceaccount:aviary:aviary-controller" cannot get resource "secrets" in API group "" in the namespace "x"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := refusals(tc.output); !slices.Equal(got, tc.want) {
				t.Errorf("refusals:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestNamesKubeconfig(t *testing.T) {
	for args, want := range map[string]bool{
		"--kubeconfig /x":        true,
		"--kubeconfig=/x":        true,
		"-kubeconfig /x":         true,
		"--namespace kubeconfig": false,
		"--leader-elect=false":   false,
	} {
		if got := namesKubeconfig(strings.Fields(args)); got != want {
			t.Errorf("namesKubeconfig(%s) = %v, want %v", args, got, want)
		}
	}
}
