package clientmetrics

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	pathpkg "path"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/aviary-rollouts/aviary/internal/metrics"
)

// K8sRequests is controller_clientset_k8s_request_total{kind, namespace,
// name, verb, status_code}: Argo Rollouts' request counter, with the label
// values Argo's client wrapper (argoproj/pkg's kubeclientmetrics) gives
// them, quirks included, so queries and alerts on it keep working:
//
//   - verb is Get, List, Watch, Create, Update, Patch, Delete or Unknown;
//   - kind is the path's second-to-last segment for a request naming an
//     object, so a subresource write is labelled by the object's name
//     (a Rollout's status patch: kind=<rollout>, namespace="rollouts",
//     name="status"); for a create it is the last segment and the name and
//     namespace come from the object sent;
//   - name is "N/A" for lists and for every Event and ReplicaSet request;
//   - status_code is "0" when no response came back.
//
// Series whose object sees no request for an hour are dropped, so the
// family does not grow with every AnalysisRun and Job the controller ever
// created (Argo Rollouts keeps them all).
var K8sRequests = metrics.NewExpiringCounterVec("controller_clientset_k8s_request_total",
	"Number of kubernetes requests executed during application reconciliation.",
	[]string{"kind", "namespace", "name", "verb", "status_code"}, time.Hour)

// Argo Rollouts' verbs.
const (
	verbGet     = "Get"
	verbList    = "List"
	verbWatch   = "Watch"
	verbCreate  = "Create"
	verbUpdate  = "Update"
	verbPatch   = "Patch"
	verbDelete  = "Delete"
	verbUnknown = "Unknown"
)

// ArgoLabels are the label values K8sRequests counts req under.
func ArgoLabels(req *http.Request, resp *http.Response) (kind, namespace, name, verb, statusCode string) {
	path := req.URL.Path
	segs := strings.Split(path, "/")
	last := func(i int) string { // i-th segment from the end, 1-based
		if len(segs) < i {
			return ""
		}
		return segs[len(segs)-i]
	}
	switch req.Method {
	case http.MethodPost:
		verb = verbCreate
		kind = pathpkg.Base(path)
		var ok bool
		if namespace, name, ok = sentMetadata(req); !ok {
			kind = ""
		}
	case http.MethodDelete, http.MethodPatch, http.MethodPut:
		verb = map[string]string{http.MethodDelete: verbDelete, http.MethodPatch: verbPatch, http.MethodPut: verbUpdate}[req.Method]
		name, kind = last(1), last(2)
		if namespaced(segs) {
			namespace = last(3)
		}
	case http.MethodGet:
		if afterVersion(segs)%2 == 0 {
			verb = verbGet
			name, kind = last(1), last(2)
			if namespaced(segs) {
				namespace = last(3)
			}
			break
		}
		verb = verbList
		if w := req.URL.Query()["watch"]; len(w) > 0 && w[0] == "true" {
			verb = verbWatch
		}
		kind = last(1)
		if namespaced(segs) {
			namespace = last(2)
		}
		if verb == verbWatch {
			for _, sel := range req.URL.Query()["fieldSelector"] {
				if n, ok := strings.CutPrefix(sel, "metadata.name="); ok {
					name = n
					break
				}
			}
		}
	default:
		verb = verbUnknown
	}
	if verb == verbList || kind == "events" || kind == "replicasets" {
		name = "N/A"
	}
	if verb == verbUnknown {
		kind, namespace, name = "Unknown", "Unknown", "Unknown"
	}
	statusCode = "0"
	if resp != nil {
		statusCode = strconv.Itoa(resp.StatusCode)
	}
	return kind, namespace, name, verb, statusCode
}

// afterVersion counts the path segments after its API version ("v1",
// "v1alpha1"), at most four, as Argo's wrapper does to tell a GET of one
// object (even) from a list (odd): the count stops after a segment with a
// character other than a letter, digit or '-'; a path without a version
// followed by a segment counts 0.
func afterVersion(segs []string) int {
	for i, s := range segs {
		if i+1 >= len(segs) || !isVersion(s) {
			continue
		}
		n := 0
		for _, next := range segs[i+1:] {
			n++
			if n == 4 || !allOf(next, func(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) || c == '-' }) {
				break
			}
		}
		return n
	}
	return 0
}

// isVersion: 'v', a digit, then letters, digits or '_'.
func isVersion(s string) bool {
	return len(s) >= 2 && s[0] == 'v' && isDigit(s[1]) &&
		allOf(s[2:], func(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) || c == '_' })
}

// namespaced: the path has /namespaces/<namespace>/<resource> after some
// other segment, as Argo's wrapper tests before reading a namespace off
// the path.
func namespaced(segs []string) bool {
	name := func(c byte) bool { return isLower(c) || isDigit(c) || c == '-' }
	for i := 2; i+2 < len(segs); i++ {
		if segs[i] == "namespaces" && segs[i+1] != "" && allOf(segs[i+1], name) && segs[i+2] != "" && name(segs[i+2][0]) {
			return true
		}
	}
	return false
}

// sentMetadata is the namespace and name of the object a create sends,
// read from its body (read again through GetBody; the request's own stays
// unread): JSON, or the protobuf client-go sends built-in kinds in (Argo
// Rollouts' clients sent JSON, which its wrapper reads). ok is false when
// there is no body to read or it is neither.
func sentMetadata(req *http.Request) (namespace, name string, ok bool) {
	if req.GetBody == nil {
		return "", "", false
	}
	body, err := req.GetBody()
	if err != nil {
		return "", "", false
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return "", "", false
	}
	if raw, isProto := bytes.CutPrefix(b, protobufMagic); isProto {
		return protobufMetadata(raw)
	}
	var obj struct {
		Metadata struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return "", "", false
	}
	return obj.Metadata.Namespace, obj.Metadata.Name, true
}

// protobufMagic starts every Kubernetes protobuf body; a runtime.Unknown
// follows.
var protobufMagic = []byte{0x6b, 0x38, 0x73, 0x00} // "k8s\0"

// protobufMetadata reads metadata.namespace and metadata.name out of a
// runtime.Unknown (field 2: the object) whose object has its ObjectMeta
// as field 1 (every built-in kind) with name as field 1 and namespace as
// field 3. Only these fields are looked at: no object is decoded.
func protobufMetadata(unknown []byte) (namespace, name string, ok bool) {
	object, ok := protoField(unknown, 2)
	if !ok {
		return "", "", false
	}
	meta, ok := protoField(object, 1)
	if !ok {
		return "", "", false
	}
	n, _ := protoField(meta, 1)
	ns, _ := protoField(meta, 3)
	return string(ns), string(n), true
}

// protoField is the last length-delimited field num of message m, as
// protobuf reads a repeated scalar; ok is false when m is malformed or
// lacks it.
func protoField(m []byte, num protowire.Number) (value []byte, ok bool) {
	for len(m) > 0 {
		n, typ, l := protowire.ConsumeTag(m)
		if l < 0 {
			return nil, false
		}
		m = m[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(m)
			if l < 0 {
				return nil, false
			}
			value, ok = v, true
			m = m[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, m)
		if l < 0 {
			return nil, false
		}
		m = m[l:]
	}
	return value, ok
}

func allOf(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
