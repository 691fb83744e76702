package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
	"github.com/aviary-rollouts/aviary/internal/dashboard/view"
)

// SSE event names of the list watch.
const (
	// eventSnapshot carries the whole list ({"rollouts": [...]}, as
	// RolloutList): first, and again after an error event.
	eventSnapshot = "message"
	// eventDelta carries what changed since the last event (ListDelta).
	eventDelta = "delta"
	// eventError carries {"error": "..."} while the list cannot be read.
	eventError = "error"
)

// ListDelta is a "delta" event of the list watch: the rows added,
// changed and removed since the event before, each list by name. A row
// is keyed by namespace/name; added and changed rows are whole
// summaries, so the page replaces a row, never merges one.
type ListDelta struct {
	Added   []json.RawMessage `json:"added,omitempty"`
	Changed []json.RawMessage `json:"changed,omitempty"`
	Removed []RowKey          `json:"removed,omitempty"`
}

// RowKey names a row of the list.
type RowKey struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// row is one rollout's summary, as JSON, with the versions of the
// objects it was made of.
type row struct {
	name string
	// inputs are the UID and resourceVersion of the Rollout and the
	// resourceVersions of the ReplicaSets it owns: a summary is made of
	// nothing else (view.NewSummary), so equal inputs mean an equal row.
	inputs string
	json   json.RawMessage
}

// readRows reads the namespace's Rollouts and ReplicaSets and makes a row
// per Rollout, sorted by name. A row of prev (by name) whose inputs are
// unchanged is taken as it is, neither rebuilt nor marshalled again. The
// cost is linear in the number of objects: each ReplicaSet is filed under
// its owners once, instead of every Rollout scanning every ReplicaSet.
func readRows(ctx context.Context, c client.Reader, ns string, prev map[string]row) ([]row, error) {
	in := client.InNamespace(ns)
	// The objects are only read here, so the cache's are used without
	// the copy a List makes of each by default.
	var ros v1alpha1.RolloutList
	if err := c.List(ctx, &ros, in, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list rollouts in namespace %q: %w", ns, err)
	}
	rows := make([]row, 0, len(ros.Items))
	if len(ros.Items) == 0 {
		return rows, nil
	}
	var rss appsv1.ReplicaSetList
	if err := c.List(ctx, &rss, in, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list replicasets in namespace %q: %w", ns, err)
	}
	owned := map[types.UID][]int{}
	for i := range rss.Items {
		for _, ref := range rss.Items[i].OwnerReferences {
			owned[ref.UID] = append(owned[ref.UID], i)
		}
	}
	var key strings.Builder
	for i := range ros.Items {
		ro := &ros.Items[i]
		mine := owned[ro.UID]
		// The cache lists in no set order; the inputs must not depend on it.
		slices.SortFunc(mine, func(a, b int) int { return strings.Compare(rss.Items[a].Name, rss.Items[b].Name) })
		key.Reset()
		key.WriteString(string(ro.UID))
		key.WriteByte('/')
		key.WriteString(ro.ResourceVersion)
		for _, j := range mine {
			key.WriteByte(',')
			key.WriteString(rss.Items[j].ResourceVersion)
		}
		inputs := key.String()
		if p, ok := prev[ro.Name]; ok && p.inputs == inputs {
			rows = append(rows, p)
			continue
		}
		objs := tree.Objects{ReplicaSets: make([]appsv1.ReplicaSet, 0, len(mine))}
		for _, j := range mine {
			objs.ReplicaSets = append(objs.ReplicaSets, rss.Items[j])
		}
		data, err := json.Marshal(view.NewSummary(ro, objs))
		if err != nil {
			return nil, fmt.Errorf("summary of rollout %q: %w", ro.Name, err)
		}
		rows = append(rows, row{name: ro.Name, inputs: inputs, json: data})
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.name, b.name) })
	return rows, nil
}

// snapshot is the whole list as RolloutList's JSON, made of the rows'.
func snapshot(rows []row) []byte {
	n := len(`{"rollouts":[]}`)
	for _, r := range rows {
		n += len(r.json) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, n))
	b.WriteString(`{"rollouts":[`)
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r.json)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// diff is what changed from prev to rows.
func diff(ns string, prev map[string]row, rows []row) ListDelta {
	var d ListDelta
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		seen[r.name] = true
		switch p, ok := prev[r.name]; {
		case !ok:
			d.Added = append(d.Added, r.json)
		case !bytes.Equal(p.json, r.json):
			d.Changed = append(d.Changed, r.json)
		}
	}
	for name := range prev {
		if !seen[name] {
			d.Removed = append(d.Removed, RowKey{Namespace: ns, Name: name})
		}
	}
	slices.SortFunc(d.Removed, func(a, b RowKey) int { return strings.Compare(a.Name, b.Name) })
	return d
}

func (d ListDelta) empty() bool { return len(d.Added)+len(d.Changed)+len(d.Removed) == 0 }

// listFeed makes the events of one list watch: a snapshot first, then
// deltas. It remembers the rows the page holds.
type listFeed struct {
	ns string
	// rows are what the page holds, by name; valid once sent is set.
	rows    map[string]row
	sent    bool
	lastErr []byte
}

func (f *listFeed) next(ctx context.Context, c client.Reader) (string, []byte, error) {
	rows, err := readRows(ctx, c, f.ns, f.rows)
	if err != nil {
		// The page keeps showing its rows under the error; once the list
		// reads again, a snapshot replaces them, as anything may have
		// changed meanwhile.
		f.sent = false
		data := errorData(err)
		if bytes.Equal(data, f.lastErr) {
			return "", nil, nil
		}
		f.lastErr = data
		return eventError, data, nil
	}
	f.lastErr = nil
	prev, first := f.rows, !f.sent
	f.rows = make(map[string]row, len(rows))
	for _, r := range rows {
		f.rows[r.name] = r
	}
	f.sent = true
	if first {
		return eventSnapshot, snapshot(rows), nil
	}
	d := diff(f.ns, prev, rows)
	if d.empty() {
		return "", nil, nil
	}
	data, err := json.Marshal(d)
	return eventDelta, data, err
}
