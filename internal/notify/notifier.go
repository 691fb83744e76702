package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientbudget"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/metrics"
)

// Notifier delivers the notifications journaled Events owe (see the
// package comment). It implements events.Notifications for the journal
// and runs, while this instance leads, as a manager Runnable.
type Notifier struct {
	// Config reads the notification settings.
	Config *Config
	// Events reads and marks the journaled Events.
	Events typedcorev1.EventsGetter
	// Rollouts reads the Rollout an Event is about, from the cache.
	Rollouts client.Reader
	// Recorder tells users, on the Rollout, what cannot be sent.
	Recorder record.EventRecorder
	// Namespace limits the recovery of pending Events to one namespace
	// (--namespaced); "" is every namespace.
	Namespace string
	Log       *slog.Logger
	// Workers send in parallel, each Event by one at a time.
	Workers int

	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]
	// retrying holds the Events in backoff after a failure.
	retrying sync.Map
	// decidedFrom holds, by Event, the Rollout its decision was made from
	// (*v1alpha1.Rollout), until its notifications are sent.
	decidedFrom sync.Map
}

// sendTimeout bounds one send.
const sendTimeout = time.Minute

// New returns a Notifier; its queue exists at once, so the journal may hand
// it Events before it runs.
func New(cfg *Config, evs typedcorev1.EventsGetter, rollouts client.Reader, recorder record.EventRecorder, namespace string, log *slog.Logger) *Notifier {
	return &Notifier{
		Config: cfg, Events: evs, Rollouts: rollouts, Recorder: recorder, Namespace: namespace, Log: log, Workers: 4,
		// A failed send is retried from 1 s, doubling, up to every 5 min,
		// until its Event expires (the API server's --event-ttl, 1 h by
		// default): a service down for longer is a lost notification,
		// reported as such.
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](time.Second, 5*time.Minute),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "notifications"}),
	}
}

// Owed implements events.Notifications: an Event about a Rollout owes
// notifications when one of its reasons' triggers has a subscriber. With a
// configuration that cannot be read, a subscribe annotation is enough, so
// that the Event is kept pending and the error reported.
func (n *Notifier) Owed(s events.Subject, reasons []string) bool {
	if s.Kind != "Rollout" {
		return false
	}
	apis, err := n.Config.APIs(s.Namespace)
	for _, a := range apis {
		if subscribed(destinations(a.GetConfig(), s.Labels, s.Annotations), reasons) {
			return true
		}
	}
	if err != nil {
		return subscribed(destinations(api.Config{}, nil, s.Annotations), reasons)
	}
	return false
}

// Written implements events.Notifications. The Rollout the decision was
// made from is kept until the Event's notifications are sent: templates
// render it, as Argo Rollouts renders the Rollout its event was recorded
// with (the step index of the step completed, not of the next one).
func (n *Notifier) Written(namespace, name string, s events.Subject) {
	key := types.NamespacedName{Namespace: namespace, Name: name}
	if ro, ok := s.Object.(*v1alpha1.Rollout); ok {
		n.decidedFrom.Store(key, ro.DeepCopy())
	}
	n.queue.Add(key)
}

// NeedLeaderElection: only the leader sends.
func (n *Notifier) NeedLeaderElection() bool { return true }

// Start finds the Events left pending by an earlier instance, then sends
// until ctx ends.
func (n *Notifier) Start(ctx context.Context) error {
	defer n.queue.ShutDown()
	list, err := n.Events.Events(n.Namespace).List(ctx, metav1.ListOptions{LabelSelector: events.NotifyPendingLabel + "=true"})
	if err != nil {
		// Not fatal: what this instance journals is still sent.
		n.Log.Error("could not list the Events with notifications pending; those an earlier instance left are not sent", "err", err)
	} else {
		for _, ev := range list.Items {
			n.queue.Add(types.NamespacedName{Namespace: ev.Namespace, Name: ev.Name})
		}
		if len(list.Items) > 0 {
			n.Log.Info("notifications pending from before this instance led", "events", len(list.Items))
		}
	}
	for range max(n.Workers, 1) {
		go func() {
			for n.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
	return nil
}

func (n *Notifier) next(ctx context.Context) bool {
	key, quit := n.queue.Get()
	if quit {
		return false
	}
	defer n.queue.Done(key)
	if err := n.deliver(ctx, key); err != nil {
		n.retrying.Store(key, struct{}{})
		n.queue.AddRateLimited(key)
	} else {
		n.retrying.Delete(key)
		n.decidedFrom.Delete(key)
		n.queue.Forget(key)
	}
	return true
}

// SettingsChanged retries at once, without their backoff, the Events whose
// notifications failed: a fixed ConfigMap or Secret (or a service that
// came back and was reconfigured) should not wait out minutes of backoff.
func (n *Notifier) SettingsChanged() {
	n.retrying.Range(func(k, _ any) bool {
		key := k.(types.NamespacedName)
		n.queue.Forget(key)
		n.queue.Add(key)
		return true
	})
}

// deliver sends what the Event key owes and is not yet sent. It returns an
// error when a notification failed and is to be retried.
func (n *Notifier) deliver(ctx context.Context, key types.NamespacedName) error {
	ev, err := n.Events.Events(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if n.queue.NumRequeues(key) > 0 {
			n.Log.Warn("notifications not delivered: their Event expired while retrying", "event", key.String())
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read event %s: %w", key, err)
	}
	if ev.Labels[events.NotifyPendingLabel] != "true" {
		return nil
	}
	ro := &v1alpha1.Rollout{}
	err = n.Rollouts.Get(ctx, client.ObjectKey{Namespace: ev.Namespace, Name: ev.InvolvedObject.Name}, ro)
	if apierrors.IsNotFound(err) || (err == nil && ro.UID != ev.InvolvedObject.UID) {
		n.Log.Info("notifications dropped: their Rollout is gone", "event", key.String(), "rollout", ev.InvolvedObject.Name)
		return n.mark(ctx, ev, sentOn(ev), true)
	}
	if err != nil {
		return fmt.Errorf("read rollout %s/%s: %w", ev.Namespace, ev.InvolvedObject.Name, err)
	}
	// Rendered from the Rollout the decision was made from; after a
	// restart that is gone, and the Rollout as it is now stands in.
	rendered := ro
	if v, ok := n.decidedFrom.Load(key); ok && v.(*v1alpha1.Rollout).ResourceVersion == ev.InvolvedObject.ResourceVersion {
		rendered = v.(*v1alpha1.Rollout)
	}
	obj, err := objectMap(rendered)
	if err != nil {
		return err
	}
	apis, cfgErr := n.Config.APIs(ro.Namespace)
	if cfgErr != nil {
		n.configInvalid(ro, ev, cfgErr)
	}
	// First what is owed, under each settings object that applies; then
	// the sends, each recorded at once.
	type owed struct {
		api api.API
		ns  string
		delivery
	}
	var todo []owed
	sent := sentOn(ev)
	failed := cfgErr != nil
	served, missing := map[fact]bool{}, map[fact]string{}
	for _, ns := range slices.Sorted(maps.Keys(apis)) {
		a := apis[ns]
		prefix := ""
		if ns != n.Config.Namespace {
			prefix = ns
		}
		ds, bad, unconfigured := deliveries(prefix, factsOf(ev), destinations(a.GetConfig(), ro.Labels, ro.Annotations),
			func(trigger string) ([]condition, error) { return conditions(a, trigger, obj) }, sent)
		for _, f := range unconfigured {
			missing[f] = ns
		}
		for _, d := range ds {
			served[d.Fact] = true
			todo = append(todo, owed{a, ns, d})
		}
		for f, err := range bad {
			failed = true
			n.configInvalid(ro, ev, err)
			metrics.NotificationSendError.WithLabelValues(ro.Namespace, ro.Name, f.Type, f.Reason).Inc()
		}
	}
	for f, ns := range missing {
		if served[f] {
			continue
		}
		failed = true
		n.configInvalid(ro, ev, fmt.Errorf("ConfigMap %s/%s does not define trigger %s, which the rollout is subscribed to; add trigger.%s (docs/notifications.md)",
			ns, ConfigMapName, TriggerFor(f.Reason), TriggerFor(f.Reason)))
	}
	done := false
	for i, o := range todo {
		d := o.delivery
		if err := n.send(o.api, ro, obj, d); err != nil {
			failed = true
			msg := n.Config.Redact(o.ns, err)
			n.Log.Warn("notification not sent; retrying", "rollout", ro.Namespace+"/"+ro.Name, "event", ev.Name,
				"trigger", d.Trigger, "service", d.Dest.Service, "recipient", d.Dest.Recipient, "err", msg)
			n.Recorder.Eventf(ro, corev1.EventTypeWarning, ReasonSendFailed, "Could not send %s to %s: %s; it is retried with backoff",
				d.Trigger, destName(d.Dest), msg)
			continue
		}
		sent = append(sent, d.Key)
		n.Log.Info("notification sent", "rollout", ro.Namespace+"/"+ro.Name, "event", ev.Name,
			"trigger", d.Trigger, "service", d.Dest.Service, "recipient", d.Dest.Recipient)
		// Recorded at once: a kill after this send repeats none of it.
		// The last one, with nothing failed, also ends the Event's debt.
		done = i == len(todo)-1 && !failed
		if err := n.mark(ctx, ev, sent, done); err != nil {
			return err
		}
	}
	if failed {
		return errors.New("notifications to retry")
	}
	if done {
		return nil
	}
	return n.mark(ctx, ev, sent, true)
}

// send delivers d and counts it as Argo Rollouts does.
func (n *Notifier) send(a api.API, ro *v1alpha1.Rollout, obj map[string]any, d delivery) error {
	start := time.Now()
	// The engine's services take no context and some set no timeout: a
	// receiver that never answers would hold a worker for good. One that
	// answers after sendTimeout may get the notification twice.
	done := make(chan error, 1)
	go func() { done <- a.Send(obj, d.Templates, d.Dest) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(sendTimeout):
		err = fmt.Errorf("no answer within %s", sendTimeout)
	}
	metrics.NotificationSend.WithLabelValues(ro.Namespace, ro.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		metrics.NotificationSendError.WithLabelValues(ro.Namespace, ro.Name, d.Fact.Type, d.Fact.Reason).Inc()
		return err
	}
	metrics.NotificationSendSuccess.WithLabelValues(ro.Namespace, ro.Name, d.Fact.Type, d.Fact.Reason).Inc()
	return nil
}

// mark records sent on ev and, when done, clears its pending label.
func (n *Notifier) mark(ctx context.Context, ev *corev1.Event, sent []string, done bool) error {
	meta := map[string]any{}
	if len(sent) > 0 {
		raw, err := json.Marshal(sent)
		if err != nil {
			return err
		}
		meta["annotations"] = map[string]any{events.NotifiedAnnotation: string(raw)}
	}
	if done {
		meta["labels"] = map[string]any{events.NotifyPendingLabel: nil}
	}
	if len(meta) == 0 {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return err
	}
	// Served with the controllers' work, not after it as Event writes are:
	// until this record lands, a kill would send the notification again.
	ctx = clientbudget.WithPriority(ctx, clientbudget.Work)
	_, err = n.Events.Events(ev.Namespace).Patch(ctx, ev.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record the notifications sent for event %s/%s: %w", ev.Namespace, ev.Name, err)
	}
	return nil
}

// configInvalid reports an unusable configuration on the Rollout and in
// the log.
func (n *Notifier) configInvalid(ro *v1alpha1.Rollout, ev *corev1.Event, err error) {
	n.Log.Error("notification configuration invalid; the notification is retried once it is fixed", "rollout", ro.Namespace+"/"+ro.Name, "event", ev.Name, "err", err)
	n.Recorder.Eventf(ro, corev1.EventTypeWarning, ReasonConfigInvalid, "Notifications for %s not sent: %v", ev.Reason, err)
}

func destName(d services.Destination) string {
	if d.Recipient == "" {
		return d.Service
	}
	return d.Service + ":" + d.Recipient
}

// objectMap is the Rollout as templates and conditions read it
// (.rollout.status.phase…).
func objectMap(ro *v1alpha1.Rollout) (map[string]any, error) {
	raw, err := json.Marshal(ro)
	if err != nil {
		return nil, fmt.Errorf("encode rollout %s/%s for its notifications: %w", ro.Namespace, ro.Name, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode rollout %s/%s for its notifications: %w", ro.Namespace, ro.Name, err)
	}
	return m, nil
}

// redact removes from err's text every value of secret and the path and
// query of any URL it names: a service's error often quotes the URL it
// posted to, and a webhook URL often carries a token.
func redact(err error, secret *corev1.Secret) string {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			msg = strings.ReplaceAll(msg, ue.URL, u.Scheme+"://"+u.Host+"/…")
		}
	}
	if secret != nil {
		for _, v := range secret.Data {
			if len(v) >= 4 {
				msg = strings.ReplaceAll(msg, string(v), "***")
			}
		}
	}
	return msg
}
