package manager

import (
	"flag"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func parse(t *testing.T, args ...string) Options {
	t.Helper()
	var o Options
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestDefaultsMatchArgoRollouts pins the defaults users rely on when they
// swap Argo Rollouts' controller for ours (reference Appendix A).
func TestDefaultsMatchArgoRollouts(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	o := parse(t)
	checks := []struct {
		name      string
		got, want any
	}{
		{"qps", o.QPS, 40.0},
		{"burst", o.Burst, 80},
		{"rollout-threads", o.RolloutThreads, 10},
		{"analysis-threads", o.AnalysisThreads, 30},
		{"experiment-threads", o.ExperimentThreads, 10},
		{"leader-elect", o.LeaderElect, true},
		{"lease duration", o.LeaderElectionLeaseDuration, 15 * time.Second},
		{"renew deadline", o.LeaderElectionRenewDeadline, 10 * time.Second},
		{"retry period", o.LeaderElectionRetryPeriod, 2 * time.Second},
		{"metrics-addr", o.MetricsAddr, ":8090"},
		{"health-addr", o.HealthAddr, ":8080"},
		{"namespace", o.Namespace, DefaultNamespace},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: default %v, want %v", c.name, c.got, c.want)
		}
	}
	if err := o.Validate(); err != nil {
		t.Errorf("defaults must validate: %v", err)
	}
}

func TestNamespaceDefaultsToPodNamespace(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "rollouts")
	if o := parse(t); o.Namespace != "rollouts" {
		t.Errorf("namespace %q, want the POD_NAMESPACE value", o.Namespace)
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--namespaced", "--namespace", ""}, "--namespaced needs --namespace"},
		{[]string{"--instance-id", "not a label!"}, "--instance-id"},
		{[]string{"--qps", "0"}, "--qps"},
		{[]string{"--burst", "0"}, "--burst"},
		{[]string{"--rollout-threads", "0"}, "--rollout-threads"},
		{[]string{"--leader-election-renew-deadline", "20s"}, "--leader-election-renew-deadline"},
		{[]string{"--leader-election-retry-period", "10s"}, "--leader-election-retry-period"},
	}
	for _, c := range cases {
		err := func() error { o := parse(t, c.args...); return o.Validate() }()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
	// Without leader election the lease timings are irrelevant.
	o := parse(t, "--leader-elect=false", "--leader-election-renew-deadline", "20s")
	if err := o.Validate(); err != nil {
		t.Errorf("lease timings must not matter with --leader-elect=false: %v", err)
	}
}

// TestInstanceSelector checks the sharding rule: an instance sees only its
// own objects, and the default instance only unlabelled ones.
func TestInstanceSelector(t *testing.T) {
	own := labels.Set{v1alpha1.LabelControllerInstanceID: "blue"}
	other := labels.Set{v1alpha1.LabelControllerInstanceID: "green"}
	none := labels.Set{"app": "web"}
	cases := []struct {
		id   string
		set  labels.Set
		want bool
	}{
		{"blue", own, true},
		{"blue", other, false},
		{"blue", none, false},
		{"", none, true},
		{"", own, false},
	}
	for _, c := range cases {
		if got := InstanceSelector(c.id).Matches(c.set); got != c.want {
			t.Errorf("instance %q, labels %v: match %v, want %v", c.id, c.set, got, c.want)
		}
	}
}

func TestLeaseNameCarriesInstanceID(t *testing.T) {
	plain, blue := parse(t), parse(t, "--instance-id", "blue")
	if got := plain.leaseName(); got != "aviary-controller-lock" {
		t.Errorf("lease %q", got)
	}
	if got := blue.leaseName(); got != "aviary-controller-lock-blue" {
		t.Errorf("instances must elect separately; lease %q", got)
	}
}
