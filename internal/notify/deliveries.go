// Package notify sends the notifications users subscribe rollouts to, as
// Argo Rollouts does and with the engine it uses
// (github.com/argoproj/notifications-engine): the same ConfigMap and Secret,
// triggers named after event reasons (RolloutStepCompleted →
// on-rollout-step-completed), subscriptions by annotation and by default in
// the ConfigMap, and the engine's services and templates.
//
// Unlike Argo Rollouts, which sends from its asynchronous event recorder,
// each notification follows a journaled decision Event (internal/events):
// the Event is written with events.NotifyPendingLabel, and each delivery
// is recorded on it (events.NotifiedAnnotation) once its service accepted
// it. A controller killed at any moment finds the pending Events again and
// sends what is not recorded, so every notification is delivered, and
// none twice unless the kill falls between a service accepting it and the
// record of that (docs/notifications.md).
package notify

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/argoproj/notifications-engine/pkg/subscriptions"
	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/internal/events"
)

// The ConfigMap and Secret holding the notification settings, in the
// controller's namespace (and, with --self-service-notification-enabled, in
// a rollout's own), as Argo Rollouts names them.
const (
	ConfigMapName = "argo-rollouts-notification-configmap"
	SecretName    = "argo-rollouts-notification-secret"
)

// Event reasons of the notifier's own Warning Events on a Rollout.
const (
	// ReasonConfigInvalid: the notification ConfigMap or Secret cannot be
	// used; the message names the key.
	ReasonConfigInvalid = "NotificationConfigInvalid"
	// ReasonSendFailed: a service refused or could not be reached; the
	// notification is retried.
	ReasonSendFailed = "NotificationSendFailed"
)

var (
	firstCap = regexp.MustCompile("(.)([A-Z][a-z]+)")
	allCap   = regexp.MustCompile("([a-z0-9])([A-Z])")
)

// TriggerFor is the trigger an event reason runs, as Argo Rollouts names
// it: "on-" and the reason in kebab case (AnalysisRunFailed →
// on-analysis-run-failed).
func TriggerFor(reason string) string {
	t := firstCap.ReplaceAllString(reason, "${1}-${2}")
	t = allCap.ReplaceAllString(t, "${1}-${2}")
	return "on-" + strings.ToLower(t)
}

// fact is one thing an Event tells, which may run a trigger.
type fact struct {
	Type, Reason string
}

// factsOf lists what ev tells: every fact of a folded Event
// (events.ToldAnnotation), else the Event itself; each reason once, in the
// order they happened.
func factsOf(ev *corev1.Event) []fact {
	var told []events.ToldFact
	if raw := ev.Annotations[events.ToldAnnotation]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &told) // an unreadable list: the Event's own reason
	}
	if len(told) == 0 {
		return []fact{{Type: ev.Type, Reason: ev.Reason}}
	}
	var out []fact
	for _, f := range told {
		if !slices.ContainsFunc(out, func(o fact) bool { return o.Reason == f.Reason }) {
			out = append(out, fact{Type: f.Type, Reason: f.Reason})
		}
	}
	return out
}

// destinations are the subscriptions of an object with these labels and
// annotations under cfg: the ConfigMap's default subscriptions selected by
// the labels, and the object's subscribe annotations.
func destinations(cfg api.Config, labels, annotations map[string]string) services.Destinations {
	d := cfg.GetGlobalDestinations(labels)
	d.Merge(subscriptions.NewAnnotations(annotations).GetDestinations(cfg.DefaultTriggers, cfg.ServiceDefaultTriggers))
	return d
}

// subscribed reports whether any of reasons' triggers has a destination.
func subscribed(d services.Destinations, reasons []string) bool {
	for _, r := range reasons {
		if len(d[TriggerFor(r)]) > 0 {
			return true
		}
	}
	return false
}

// delivery is one notification an Event owes: a trigger's condition, sent
// to one destination with that condition's templates.
type delivery struct {
	// Key names it on the Event (events.NotifiedAnnotation).
	Key       string
	Fact      fact
	Trigger   string
	Templates []string
	Dest      services.Destination
}

// condition is the outcome of one of a trigger's conditions.
type condition struct {
	Templates []string
	// Send: its `when` held, or it has none (a trigger without a
	// condition always sends, as in Argo Rollouts).
	Send bool
}

// emptyWhen ends the engine's key of a condition without `when`.
var emptyWhen = func() string {
	h := sha1.Sum(nil)
	return "." + base64.RawURLEncoding.EncodeToString(h[:])
}()

// deliveries lists what the facts owe, under the configuration of
// namespace configNS ("" for the controller's own), given each trigger's
// destinations and conditions, without those already sent. A trigger
// that fails to run is returned as an error for its fact, and the others
// go on.
func deliveries(configNS string, facts []fact, dests services.Destinations, run func(trigger string) ([]condition, error), sent []string) (out []delivery, failed map[fact]error, unconfigured []fact) {
	for _, f := range facts {
		trigger := TriggerFor(f.Reason)
		ds := dests[trigger]
		if len(ds) == 0 {
			continue
		}
		conds, err := run(trigger)
		if errors.Is(err, errUnconfigured) {
			// Settings that do not define the trigger do not serve its
			// subscription; other settings (self-service) may.
			unconfigured = append(unconfigured, f)
			continue
		}
		if err != nil {
			if failed == nil {
				failed = map[fact]error{}
			}
			failed[f] = fmt.Errorf("trigger %s: %w", trigger, err)
			continue
		}
		for i, c := range conds {
			if !c.Send {
				continue
			}
			for _, d := range ds {
				key := fmt.Sprintf("%s[%d] %s:%s", trigger, i, d.Service, d.Recipient)
				if configNS != "" {
					key = configNS + "/" + key
				}
				if slices.Contains(sent, key) || slices.ContainsFunc(out, func(o delivery) bool { return o.Key == key }) {
					continue
				}
				out = append(out, delivery{Key: key, Fact: f, Trigger: trigger, Templates: c.Templates, Dest: d})
			}
		}
	}
	return out, failed, unconfigured
}

// errUnconfigured: the settings define no such trigger.
var errUnconfigured = errors.New("not defined in these settings")

// conditions adapts the engine's trigger results.
func conditions(a api.API, trigger string, vars map[string]any) ([]condition, error) {
	if _, ok := a.GetConfig().Triggers[trigger]; !ok {
		return nil, errUnconfigured
	}
	res, err := a.RunTrigger(trigger, vars)
	if err != nil {
		return nil, err
	}
	out := make([]condition, len(res))
	for i, r := range res {
		out[i] = condition{Templates: r.Templates, Send: r.Triggered || strings.HasSuffix(r.Key, emptyWhen)}
	}
	return out, nil
}

// sentOn is the list of deliveries recorded on ev.
func sentOn(ev *corev1.Event) []string {
	var sent []string
	if raw := ev.Annotations[events.NotifiedAnnotation]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &sent) // unreadable: nothing recorded
	}
	return sent
}
