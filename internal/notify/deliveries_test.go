package notify

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/internal/events"
)

func TestTriggerFor(t *testing.T) {
	for reason, want := range map[string]string{
		"RolloutStepCompleted": "on-rollout-step-completed",
		"RolloutCompleted":     "on-rollout-completed",
		"RolloutUpdated":       "on-rollout-updated",
		"RolloutPaused":        "on-rollout-paused",
		"RolloutAborted":       "on-rollout-aborted",
		"ScalingReplicaSet":    "on-scaling-replica-set",
		"AnalysisRunRunning":   "on-analysis-run-running",
		"AnalysisRunError":     "on-analysis-run-error",
		"AnalysisRunFailed":    "on-analysis-run-failed",
		"SwitchService":        "on-switch-service",
		"TrafficWeightUpdated": "on-traffic-weight-updated",
	} {
		if got := TriggerFor(reason); got != want {
			t.Errorf("TriggerFor(%s) = %s, want %s", reason, got, want)
		}
	}
}

func TestFactsOf(t *testing.T) {
	plain := &corev1.Event{Type: "Normal", Reason: "RolloutCompleted"}
	if got := factsOf(plain); !reflect.DeepEqual(got, []fact{{"Normal", "RolloutCompleted"}}) {
		t.Errorf("plain event: %v", got)
	}
	folded := &corev1.Event{Type: "Normal", Reason: "RolloutStepCompleted", ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		events.ToldAnnotation: `[{"type":"Normal","reason":"ScalingReplicaSet","message":"a"},` +
			`{"type":"Normal","reason":"ScalingReplicaSet","message":"b"},` +
			`{"type":"Normal","reason":"RolloutStepCompleted","message":"c"},` +
			`{"type":"Normal","reason":"RolloutPaused","message":"d"}]`}}}
	want := []fact{{"Normal", "ScalingReplicaSet"}, {"Normal", "RolloutStepCompleted"}, {"Normal", "RolloutPaused"}}
	if got := factsOf(folded); !reflect.DeepEqual(got, want) {
		t.Errorf("folded event: %v, want %v", got, want)
	}
	broken := &corev1.Event{Type: "Warning", Reason: "RolloutAborted", ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{events.ToldAnnotation: "{"}}}
	if got := factsOf(broken); !reflect.DeepEqual(got, []fact{{"Warning", "RolloutAborted"}}) {
		t.Errorf("unreadable told list: %v", got)
	}
}

func TestDestinationsMergeDefaultsAndAnnotations(t *testing.T) {
	var cfg api.Config
	// As the ConfigMap's subscriptions key holds them.
	if err := yaml.Unmarshal([]byte(`
- recipients: [webhook:ops]
  triggers: [on-rollout-aborted]
- recipients: [slack:team-a]
  triggers: [on-rollout-completed]
  selector: team=a
`), &cfg.Subscriptions); err != nil {
		t.Fatal(err)
	}
	annotations := map[string]string{"notifications.argoproj.io/subscribe.on-rollout-step-completed.webhook": "mine"}
	d := destinations(cfg, map[string]string{"team": "b"}, annotations)
	if got := d["on-rollout-aborted"]; !reflect.DeepEqual(got, []services.Destination{{Service: "webhook", Recipient: "ops"}}) {
		t.Errorf("default subscription: %v", got)
	}
	if got := d["on-rollout-completed"]; len(got) != 0 {
		t.Errorf("a subscription whose selector does not match applies: %v", got)
	}
	if got := d["on-rollout-step-completed"]; !reflect.DeepEqual(got, []services.Destination{{Service: "webhook", Recipient: "mine"}}) {
		t.Errorf("annotation subscription: %v", got)
	}
	if !subscribed(d, []string{"ScalingReplicaSet", "RolloutAborted"}) || subscribed(d, []string{"ScalingReplicaSet"}) {
		t.Error("subscribed misjudges")
	}
}

func TestDeliveries(t *testing.T) {
	web := services.Destination{Service: "webhook", Recipient: "hook"}
	slack := services.Destination{Service: "slack", Recipient: "ch"}
	dests := services.Destinations{
		"on-rollout-step-completed": {web, slack},
		"on-rollout-paused":         {web},
		"on-rollout-aborted":        {web},
	}
	always := func(tpl string) []condition { return []condition{{Templates: []string{tpl}, Send: true}} }
	run := func(trigger string) ([]condition, error) {
		switch trigger {
		case "on-rollout-step-completed":
			return always("step"), nil
		case "on-rollout-paused":
			// Two conditions, the first not holding.
			return []condition{{Templates: []string{"never"}}, {Templates: []string{"paused"}, Send: true}}, nil
		}
		return nil, errors.New("expression failed")
	}
	facts := []fact{{"Normal", "ScalingReplicaSet"}, {"Normal", "RolloutStepCompleted"}, {"Normal", "RolloutPaused"}, {"Warning", "RolloutAborted"}}

	got, failed, _ := deliveries("", facts, dests, run, nil)
	var keys []string
	for _, d := range got {
		keys = append(keys, d.Key)
	}
	want := []string{"on-rollout-step-completed[0] webhook:hook", "on-rollout-step-completed[0] slack:ch", "on-rollout-paused[1] webhook:hook"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	if got[2].Templates[0] != "paused" || got[0].Fact.Reason != "RolloutStepCompleted" {
		t.Errorf("wrong templates or fact: %+v", got)
	}
	if err := failed[fact{"Warning", "RolloutAborted"}]; err == nil || !strings.Contains(err.Error(), "on-rollout-aborted") {
		t.Errorf("a trigger that fails must fail its fact alone, naming it: %v", failed)
	}
	// A trigger these settings do not define is theirs to skip.
	_, failed, unconfigured := deliveries("", facts, dests, func(string) ([]condition, error) { return nil, errUnconfigured }, nil)
	if len(failed) != 0 || len(unconfigured) != 3 {
		t.Errorf("undefined triggers: failed %v, unconfigured %v", failed, unconfigured)
	}

	// What is recorded as sent is not sent again; under a rollout
	// namespace's own settings the keys say whose.
	again, _, _ := deliveries("", facts, dests, run, want[:2])
	if len(again) != 1 || again[0].Key != want[2] {
		t.Errorf("after two were sent: %+v", again)
	}
	own, _, _ := deliveries("team-a", facts[1:2], dests, run, want)
	if len(own) != 2 || own[0].Key != "team-a/on-rollout-step-completed[0] webhook:hook" {
		t.Errorf("self-service keys: %+v", own)
	}
}

func TestRedact(t *testing.T) {
	secret := &corev1.Secret{Data: map[string][]byte{"token": []byte("s3cr3t-token"), "short": []byte("ab")}}
	err := fmt.Errorf("send: %w", &url.Error{Op: "Post", URL: "https://hooks.example.com/services/T0/B0/s3cr3t-token?x=1", Err: errors.New("connection refused")})
	got := redact(err, secret)
	if strings.Contains(got, "s3cr3t") || strings.Contains(got, "/services/") {
		t.Errorf("secret or URL path left in %q", got)
	}
	if !strings.Contains(got, "https://hooks.example.com/") || !strings.Contains(got, "connection refused") {
		t.Errorf("the host and the cause must stay: %q", got)
	}
	plain := redact(errors.New("status 401 for token s3cr3t-token"), secret)
	if plain != "status 401 for token ***" {
		t.Errorf("plain error: %q", plain)
	}
}
