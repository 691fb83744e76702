package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/aviary-rollouts/aviary/internal/clientbudget"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// Journal writes a controller's decision events (step completed, paused,
// aborted…) synchronously, before the status write that carries the
// decision out, under a name derived from the decision itself. A controller
// killed between the two redoes the decision from the same object version
// and finds its event already there, so the event stream shows every step
// exactly once — the asynchronous recorder would lose queued events on a
// kill and repeat them on a redo.
type Journal struct {
	Events typedcorev1.EventsGetter
	// Host is the reporting instance, for `kubectl describe`.
	Host string
	Now  func() time.Time
	// Notify, when set, is asked whether an Event owes notifications; an
	// Event that does is written with NotifyPendingLabel and handed over
	// once written, so that its notifications follow the decision it
	// tells, never one without the other (internal/notify).
	Notify Notifications
}

// Notifications is what the journal asks of the notifier.
type Notifications interface {
	// Owed reports whether an Event about s telling facts with these
	// reasons has subscribers to notify.
	Owed(s Subject, reasons []string) bool
	// Written hands over the Event namespace/name about s, written (or
	// found written by an earlier attempt) with NotifyPendingLabel.
	Written(namespace, name string, s Subject)
}

// NotifyPendingLabel marks an Event whose notifications are not all sent
// yet: the notifier finds such Events again after a restart by this label,
// and removes it once every notification is delivered.
const NotifyPendingLabel = "notifications.aviary.dev/pending"

// NotifiedAnnotation lists, on an Event, the notifications already
// delivered for it (a JSON array of delivery keys), each recorded as soon
// as its service accepted it, so that a retry or a restart sends only the
// others.
const NotifiedAnnotation = "notifications.aviary.dev/sent"

// Subject is the object an event is about, at the version the decision was
// made from.
type Subject struct {
	APIVersion, Kind, Namespace, Name string
	UID                               types.UID
	ResourceVersion                   string
	// Labels and Annotations are the object's, which select its
	// notification subscriptions.
	Labels, Annotations map[string]string
	// Object is the object itself at that version, which notification
	// templates render (as Argo Rollouts renders the object its event was
	// recorded with); nil when the caller has none to give.
	Object runtime.Object
}

// ToldAnnotation lists, on an Event that tells several facts of one
// reconcile (rules.Told), every fact as a JSON array of {"type", "reason",
// "message"} in the order they happened. The Event's own reason is the
// most significant one; tools that follow a reason (notification triggers,
// scripts) read this list to find the others.
const ToldAnnotation = "rollouts.aviary.dev/told"

// ToldFact is one entry of ToldAnnotation.
type ToldFact struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Record writes one event; writing the same decision again (same subject
// version, reason and message) is a no-op.
func (j *Journal) Record(ctx context.Context, s Subject, warning bool, reason, msg string) error {
	return j.write(ctx, s, warning, reason, msg, reason+"\x00"+msg, nil, []string{reason})
}

// Tell writes the one Event of a reconcile (rules.Fold); telling the same
// decisions again from the same subject version is a no-op, whatever
// ReplicaSet facts came with them (t.Key).
func (j *Journal) Tell(ctx context.Context, s Subject, t rules.Told) error {
	var annotations map[string]string
	reasons := make([]string, len(t.Facts))
	for i, f := range t.Facts {
		reasons[i] = f.Reason
	}
	if len(t.Facts) > 1 {
		facts := make([]ToldFact, len(t.Facts))
		for i, f := range t.Facts {
			facts[i] = ToldFact{Type: eventType(f.Warning), Reason: f.Reason, Message: f.Message}
		}
		raw, err := json.Marshal(facts)
		if err != nil {
			return fmt.Errorf("encode the facts told for %s %s/%s: %w", s.Kind, s.Namespace, s.Name, err)
		}
		annotations = map[string]string{ToldAnnotation: string(raw)}
	}
	return j.write(ctx, s, t.Warning, t.Reason, t.Message, t.Key, annotations, reasons)
}

func eventType(warning bool) string {
	if warning {
		return corev1.EventTypeWarning
	}
	return corev1.EventTypeNormal
}

func (j *Journal) write(ctx context.Context, s Subject, warning bool, reason, msg, key string, annotations map[string]string, reasons []string) error {
	typ := eventType(warning)
	sum := sha256.Sum256([]byte(string(s.UID) + "\x00" + s.ResourceVersion + "\x00" + key))
	name := s.Name
	if len(name) > 200 {
		name = name[:200]
	}
	now := metav1.NewTime(j.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: name + "." + hex.EncodeToString(sum[:8]), Namespace: s.Namespace, Annotations: annotations},
		InvolvedObject: corev1.ObjectReference{APIVersion: s.APIVersion, Kind: s.Kind, Namespace: s.Namespace,
			Name: s.Name, UID: s.UID, ResourceVersion: s.ResourceVersion},
		Reason: reason, Message: msg, Type: typ, Count: 1,
		FirstTimestamp: now, LastTimestamp: now,
		Source:              corev1.EventSource{Component: Component, Host: j.Host},
		ReportingController: Component, ReportingInstance: j.Host,
	}
	owed := j.Notify != nil && j.Notify.Owed(s, reasons)
	if owed {
		ev.Labels = map[string]string{NotifyPendingLabel: "true"}
	}
	// A decision event is part of the decision: the status write carrying
	// it waits for it, so it is served with the work, not after it.
	ctx = clientbudget.WithPriority(ctx, clientbudget.Work)
	_, err := j.Events.Events(s.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("record event %s (%s) for %s %s/%s: %w", reason, msg, s.Kind, s.Namespace, s.Name, err)
	}
	if owed {
		j.Notify.Written(ev.Namespace, ev.Name, s)
	}
	return nil
}
