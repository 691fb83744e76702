package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/action"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
	"github.com/aviary-rollouts/aviary/internal/dashboard/view"
)

// RolloutList is a namespace's rollouts as `GET …/info` returns them and the
// list stream sends them as its snapshot event (readRows and snapshot
// write it).
type RolloutList struct {
	Rollouts []view.Summary `json:"rollouts"`
}

// NamespaceInfo is the answer of /api/v1/namespace: the namespace the
// dashboard was started for and every namespace that holds rollouts.
type NamespaceInfo struct {
	Namespace           string   `json:"namespace"`
	AvailableNamespaces []string `json:"availableNamespaces"`
}

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, errorBody{Error: err.Error()})
}

// statusOf is the HTTP status for an error of an action or a read.
func statusOf(err error) int {
	var bad badRequest
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case action.IsNotFound(err), apierrors.IsNotFound(err):
		return http.StatusNotFound
	case apierrors.IsConflict(err):
		return http.StatusConflict
	case apierrors.IsForbidden(err):
		return http.StatusForbidden
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadGateway
}

// badRequest is an error in what the caller sent.
type badRequest struct{ error }

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"rolloutsVersion": s.cfg.Version})
}

// namespaces lists the namespaces that hold rollouts, reading only the
// rollouts' metadata; without the right to list cluster-wide, it offers
// the dashboard's own namespace.
func (s *Server) namespaces(w http.ResponseWriter, r *http.Request) {
	info := NamespaceInfo{Namespace: s.cfg.Namespace, AvailableNamespaces: []string{s.cfg.Namespace}}
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("RolloutList"))
	if err := s.cfg.Client.List(r.Context(), &list); err == nil {
		for _, ro := range list.Items {
			if !slices.Contains(info.AvailableNamespaces, ro.Namespace) {
				info.AvailableNamespaces = append(info.AvailableNamespaces, ro.Namespace)
			}
		}
	} else if !apierrors.IsForbidden(err) {
		writeError(w, statusOf(err), fmt.Errorf("list rollouts in all namespaces: %w", err))
		return
	}
	slices.Sort(info.AvailableNamespaces)
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	c, _, release, err := s.hub.acquire(r.Context(), ns, false)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	defer release()
	rows, err := readRows(r.Context(), c, ns, nil)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(snapshot(rows), '\n'))
}

func (s *Server) detail(w http.ResponseWriter, r *http.Request) {
	s.read(w, r, func(ctx context.Context, c client.Reader) (any, error) {
		return buildDetail(ctx, c, r.PathValue("ns"), r.PathValue("name"))
	})
}

// read answers once from the namespace's watch cache.
func (s *Server) read(w http.ResponseWriter, r *http.Request, build func(context.Context, client.Reader) (any, error)) {
	c, _, release, err := s.hub.acquire(r.Context(), r.PathValue("ns"), false)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	defer release()
	v, err := build(r.Context(), c)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func buildDetail(ctx context.Context, c client.Reader, ns, name string) (view.Detail, error) {
	var ro v1alpha1.Rollout
	if err := action.Get(ctx, c, "rollout", ns, name, &ro); err != nil {
		return view.Detail{}, err
	}
	objs, err := tree.Gather(ctx, c, ns, true)
	if err != nil {
		return view.Detail{}, err
	}
	return view.NewDetail(&ro, objs), nil
}

// act runs one action on the rollout of the path and answers with what
// the CLI would have printed.
func (s *Server) act(w http.ResponseWriter, r *http.Request, do func(ctx context.Context, ns, name string) (string, error)) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	msg, err := do(r.Context(), ns, name)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": msg})
}

// patchRollout sends the patches build makes from the rollout as read.
func (s *Server) patchRollout(w http.ResponseWriter, r *http.Request, done string, build func(*v1alpha1.Rollout) ([]patch.Patch, error)) {
	s.act(w, r, func(ctx context.Context, ns, name string) (string, error) {
		if err := action.Patch(ctx, s.cfg.Client, "rollout", ns, name, &v1alpha1.Rollout{}, build); err != nil {
			return "", err
		}
		return fmt.Sprintf("rollout '%s' %s", name, done), nil
	})
}

func (s *Server) promote(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Full bool `json:"full"`
	}
	if err := decodeOptional(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	done := "promoted"
	if body.Full {
		done = "fully promoted"
	}
	s.patchRollout(w, r, done, func(ro *v1alpha1.Rollout) ([]patch.Patch, error) { return patch.Promote(ro, body.Full), nil })
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request) {
	s.patchRollout(w, r, "aborted", action.Fixed[*v1alpha1.Rollout](patch.Abort()))
}

func (s *Server) retry(w http.ResponseWriter, r *http.Request) {
	s.patchRollout(w, r, "retried", action.Fixed[*v1alpha1.Rollout](patch.RetryRollout()))
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request) {
	s.patchRollout(w, r, "paused", action.Fixed[*v1alpha1.Rollout](patch.Pause()))
}

func (s *Server) restart(w http.ResponseWriter, r *http.Request) {
	s.patchRollout(w, r, "restarts in 0s", action.Fixed[*v1alpha1.Rollout](patch.Restart(s.cfg.Now())))
}

// setImage takes the image as the reference API does, as path segments
// image/…/tag ("argoproj/rollouts-demo/green" is
// "argoproj/rollouts-demo:green"; a tag "sha256:…" is a digest).
func (s *Server) setImage(w http.ResponseWriter, r *http.Request) {
	container := r.PathValue("container")
	image, err := imageFromPath(r.PathValue("image"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.act(w, r, func(ctx context.Context, ns, name string) (string, error) {
		obj, err := action.SetImage(ctx, s.cfg.Client, ns, name, container, image)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %q image updated", strings.ToLower(obj.GetKind()), obj.GetName()), nil
	})
}

func imageFromPath(p string) (string, error) {
	p = strings.Trim(p, "/")
	i := strings.LastIndex(p, "/")
	if i <= 0 || i == len(p)-1 {
		return "", badRequest{fmt.Errorf("image %q: give it as IMAGE/TAG, e.g. argoproj/rollouts-demo/green", p)}
	}
	repo, tag := p[:i], p[i+1:]
	if strings.HasPrefix(tag, "sha256:") {
		return repo + "@" + tag, nil
	}
	return repo + ":" + tag, nil
}

func (s *Server) undo(w http.ResponseWriter, r *http.Request) {
	rev, err := strconv.ParseInt(r.PathValue("revision"), 10, 64)
	if err != nil || rev < 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("revision %q: give a revision number (0 for the previous one)", r.PathValue("revision")))
		return
	}
	s.act(w, r, func(ctx context.Context, ns, name string) (string, error) {
		return action.Undo(ctx, s.cfg.Client, ns, name, rev)
	})
}

// decodeOptional reads a small JSON body into v; an empty body is fine.
func decodeOptional(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("request body: %w (send e.g. {\"full\": true})", err)
	}
	return nil
}
