// Package lint checks a manifest file offline, as `kubectl argo rollouts
// lint -f FILE` does: every Rollout with the controller's own validation
// (internal/validation), every document decoded strictly (an unknown field
// is an error, not silently dropped), and the objects a Rollout names
// checked against the ones found in the same file with the code the
// controller runs on them (traffic routers, analysis templates). It is
// pure: file bytes in, findings out.
//
// A referenced object that is not in the file is reported only when the
// file holds at least one object of that kind. Argo Rollouts' lint checks
// only what the file contains; a file with no Services at all is a
// Rollout-only manifest whose Services live elsewhere, but a file that
// ships Services and not the one the Rollout names has most likely
// misspelt or forgotten it.
package lint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/judge"
	"github.com/aviary-rollouts/aviary/internal/plan/experiment"
	"github.com/aviary-rollouts/aviary/internal/traffic"
	"github.com/aviary-rollouts/aviary/internal/traffic/alb"
	"github.com/aviary-rollouts/aviary/internal/traffic/ambassador"
	"github.com/aviary-rollouts/aviary/internal/traffic/apisix"
	"github.com/aviary-rollouts/aviary/internal/traffic/appmesh"
	"github.com/aviary-rollouts/aviary/internal/traffic/gatewayapi"
	"github.com/aviary-rollouts/aviary/internal/traffic/istio"
	"github.com/aviary-rollouts/aviary/internal/traffic/nginx"
	"github.com/aviary-rollouts/aviary/internal/traffic/traefik"
	"github.com/aviary-rollouts/aviary/internal/validation"
)

// Finding is one problem in a file.
type Finding struct {
	// Doc is the document's position in the file, from 1; 0 when the
	// problem is the file's (it cannot be split into documents).
	Doc int
	// Kind and Name identify the document, when it could be read that far.
	Kind, Name string
	// Field is the path of the offending field in that document, if any.
	Field string
	// Message says what is wrong and how to fix it.
	Message string
}

// String is the finding as lint prints it:
// `document 2 (Rollout "demo"): spec.strategy.canary.steps[0].setWeight: Invalid value: 150: ...`.
func (f Finding) String() string {
	var b strings.Builder
	switch {
	case f.Doc == 0:
		b.WriteString("file")
	case f.Kind != "":
		fmt.Fprintf(&b, "document %d (%s %q)", f.Doc, f.Kind, f.Name)
	default:
		fmt.Fprintf(&b, "document %d", f.Doc)
	}
	if f.Field != "" {
		b.WriteString(": " + f.Field)
	}
	return b.String() + ": " + f.Message
}

// doc is one decoded document of the file.
type doc struct {
	index int
	gvk   schema.GroupVersionKind
	name  string
	ns    string
	// obj is the document as unstructured content.
	obj map[string]any
	// typed is the strictly decoded object for the kinds lint knows
	// (Rollout, the analysis kinds, Experiment, Service, Ingress); nil
	// for the others or when decoding failed.
	typed any
}

// file is the file's documents and what has been found so far.
type file struct {
	docs     []*doc
	findings []Finding
}

func (f *file) add(d *doc, field, msg string) {
	f.findings = append(f.findings, Finding{Doc: d.index, Kind: d.gvk.Kind, Name: d.name, Field: field, Message: msg})
}

// Check lints the YAML or JSON file data, which may hold several documents,
// and returns every problem found, in document order. No findings means
// the file passes.
func Check(data []byte) []Finding {
	f, err := parse(data)
	if err != nil {
		return []Finding{{Message: err.Error()}}
	}
	for _, d := range f.docs {
		switch o := d.typed.(type) {
		case *v1alpha1.Rollout:
			f.rollout(d, o)
		case *v1alpha1.AnalysisTemplate:
			f.template(d, &o.Spec)
		case *v1alpha1.ClusterAnalysisTemplate:
			f.template(d, &o.Spec)
		case *v1alpha1.AnalysisRun:
			if _, err := templates.RunMetrics(o.Spec); err != nil {
				f.add(d, "spec", fmt.Sprintf("the controller would end this run in Error: %v", err))
			}
		case *v1alpha1.Experiment:
			f.experiment(d, o)
		}
	}
	sort.SliceStable(f.findings, func(i, j int) bool { return f.findings[i].Doc < f.findings[j].Doc })
	return f.findings
}

// parse splits data into documents and decodes each, strictly for the
// kinds lint knows. Decoding problems are findings; only a file that
// cannot be split into documents is an error.
func parse(data []byte) (*file, error) {
	f := &file{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read document %d: %w", i, err)
		}
		d := &doc{index: i}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			f.add(d, "", fmt.Sprintf("is not valid YAML: %v", err))
			continue
		}
		if t := bytes.TrimSpace(js); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue // an empty document, e.g. after a trailing ---
		}
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(js); err != nil {
			f.add(d, "", fmt.Sprintf("is not a Kubernetes object: %v: give it apiVersion, kind and metadata.name", err))
			continue
		}
		d.obj, d.gvk, d.name, d.ns = u.Object, u.GroupVersionKind(), u.GetName(), u.GetNamespace()
		f.docs = append(f.docs, d)
		newTyped := strictKinds[d.gvk]
		if newTyped == nil {
			continue
		}
		typed := newTyped()
		strict, err := sigsjson.UnmarshalStrict(js, typed)
		if err != nil {
			f.add(d, "", fmt.Sprintf("cannot be decoded as %s %s: %v", d.gvk.GroupVersion(), d.gvk.Kind, err))
			continue
		}
		if len(strict) > 0 {
			for _, e := range strict {
				field, msg := strictFinding(e)
				f.add(d, field, msg)
			}
			continue
		}
		d.typed = typed
	}
	return f, nil
}

// strictKinds are the kinds decoded strictly, by what they are decoded
// into.
var strictKinds = map[schema.GroupVersionKind]func() any{
	v1alpha1.GroupVersion.WithKind("Rollout"):                 func() any { return &v1alpha1.Rollout{} },
	v1alpha1.GroupVersion.WithKind("AnalysisTemplate"):        func() any { return &v1alpha1.AnalysisTemplate{} },
	v1alpha1.GroupVersion.WithKind("ClusterAnalysisTemplate"): func() any { return &v1alpha1.ClusterAnalysisTemplate{} },
	v1alpha1.GroupVersion.WithKind("AnalysisRun"):             func() any { return &v1alpha1.AnalysisRun{} },
	v1alpha1.GroupVersion.WithKind("Experiment"):              func() any { return &v1alpha1.Experiment{} },
	corev1.SchemeGroupVersion.WithKind("Service"):             func() any { return &corev1.Service{} },
	networkingv1.SchemeGroupVersion.WithKind("Ingress"):       func() any { return &networkingv1.Ingress{} },
	appsv1.SchemeGroupVersion.WithKind("Deployment"):          func() any { return &appsv1.Deployment{} },
	appsv1.SchemeGroupVersion.WithKind("ReplicaSet"):          func() any { return &appsv1.ReplicaSet{} },
	corev1.SchemeGroupVersion.WithKind("PodTemplate"):         func() any { return &corev1.PodTemplate{} },
}

var strictMessage = regexp.MustCompile(`^(unknown|duplicate) field "(.*)"$`)

// strictFinding turns a strict-decoding error (`unknown field "spec.x"`)
// into the field's path and what to do about it.
func strictFinding(err error) (field, msg string) {
	m := strictMessage.FindStringSubmatch(err.Error())
	switch {
	case m == nil:
		return "", err.Error()
	case m[1] == "unknown":
		return m[2], "unknown field: the API has no such field, so it would be ignored; correct its spelling or indentation, or remove it"
	}
	return m[2], "duplicate field: only one of the values would be kept; remove the other"
}

// find returns the documents of kind (in any of groups) called name in
// namespace ns; an empty namespace on either side matches any.
func (f *file) find(kind string, groups []string, name, ns string) *doc {
	for _, d := range f.docs {
		if d.gvk.Kind == kind && slices.Contains(groups, d.gvk.Group) && d.name == name && (ns == "" || d.ns == "" || d.ns == ns) {
			return d
		}
	}
	return nil
}

// has reports whether the file holds an object of kind in one of groups.
func (f *file) has(kind string, groups []string) bool {
	return slices.ContainsFunc(f.docs, func(d *doc) bool { return d.gvk.Kind == kind && slices.Contains(groups, d.gvk.Group) })
}

// reference finds the object a Rollout names at field, reporting it when
// it is absent from a file that holds objects of its kind.
func (f *file) reference(ro *doc, field, kind string, groups []string, name string) *doc {
	if d := f.find(kind, groups, name, ro.ns); d != nil {
		return d
	}
	if f.has(kind, groups) {
		f.add(ro, field, fmt.Sprintf("%s %q is not in this file, which has other %ss: add it or correct the name", kind, name, kind))
	}
	return nil
}

var (
	coreGroup    = []string{""}
	ingressGroup = []string{networkingv1.GroupName}
	istioGroup   = []string{istio.Group}
	traefikGroup = []string{"traefik.io", "traefik.containo.us"}
	argoGroup    = []string{v1alpha1.GroupVersion.Group}
)

// rollout checks a Rollout and the objects it names.
func (f *file) rollout(d *doc, ro *v1alpha1.Rollout) {
	if ro.Spec.WorkloadRef != nil {
		ro = ro.DeepCopy()
		f.resolveWorkload(d, ro)
	}
	for _, e := range validation.Rollout(ro) {
		f.add(d, e.Field, e.ErrorBody())
	}
	f.services(d, ro)
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		f.routers(d, ro)
	}
	f.analyses(d, ro)
}

// resolveWorkload does what the controller does with a workloadRef whose
// target is in the file: it copies the target's pod template (and its
// selector when the Rollout has none) into ro, so that validation and the
// Service checks see the pods the Rollout will run.
func (f *file) resolveWorkload(d *doc, ro *v1alpha1.Rollout) {
	ref := ro.Spec.WorkloadRef
	group := []string{appsv1.GroupName}
	if ref.Kind == "PodTemplate" {
		group = coreGroup
	}
	target := f.reference(d, "spec.workloadRef.name", ref.Kind, group, ref.Name)
	if target == nil {
		return
	}
	var selector *metav1.LabelSelector
	switch w := target.typed.(type) {
	case *appsv1.Deployment:
		ro.Spec.SetResolvedTemplate(w.Spec.Template)
		selector = w.Spec.Selector
	case *appsv1.ReplicaSet:
		ro.Spec.SetResolvedTemplate(w.Spec.Template)
		selector = w.Spec.Selector
	case *corev1.PodTemplate:
		ro.Spec.SetResolvedTemplate(w.Template)
	default:
		return // decoding failed, already reported
	}
	if ro.Spec.Selector == nil && selector != nil {
		ro.Spec.SetResolvedSelector(selector.DeepCopy())
	}
}

// specError adds a router's error: a *traffic.SpecError names its field.
func (f *file) specError(d *doc, field string, err error) {
	if se, ok := errors.AsType[*traffic.SpecError](err); ok {
		f.add(d, se.Field, se.Msg)
		return
	}
	f.add(d, field, err.Error())
}

// services checks the Services the strategy names: present, and selecting
// the Rollout's pods (Argo Rollouts' lint check: a Service whose selector
// the pod template's labels do not satisfy would never reach them).
func (f *file) services(d *doc, ro *v1alpha1.Rollout) {
	type ref struct{ field, name string }
	var refs []ref
	if c := ro.Spec.Strategy.Canary; c != nil {
		refs = append(refs, ref{"spec.strategy.canary.canaryService", c.CanaryService}, ref{"spec.strategy.canary.stableService", c.StableService})
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		refs = append(refs, ref{"spec.strategy.blueGreen.activeService", bg.ActiveService}, ref{"spec.strategy.blueGreen.previewService", bg.PreviewService})
	}
	for _, r := range refs {
		if r.name == "" {
			continue
		}
		sd := f.reference(d, r.field, "Service", coreGroup, r.name)
		svc, ok := typedAs[*corev1.Service](sd)
		if !ok || (ro.Spec.WorkloadRef != nil && !ro.Spec.TemplateResolvedFromRef) {
			// The pod template lives in a workload outside the file.
			continue
		}
		labels := ro.Spec.Template.Labels
		for _, k := range slices.Sorted(maps.Keys(svc.Spec.Selector)) {
			if k == v1alpha1.DefaultRolloutUniqueLabelKey {
				continue
			}
			if v, ok := labels[k]; !ok || v != svc.Spec.Selector[k] {
				f.add(d, r.field, fmt.Sprintf("Service %q selects %s=%s, which the pod template's labels do not carry, so it would reach none of the Rollout's pods: "+
					"add the label to spec.template.metadata.labels or change the Service's selector", r.name, k, svc.Spec.Selector[k]))
			}
		}
	}
}

// typedAs is d's strictly decoded object as T.
func typedAs[T any](d *doc) (T, bool) {
	var zero T
	if d == nil {
		return zero, false
	}
	t, ok := d.typed.(T)
	return t, ok
}

// routers checks the routing objects the Rollout names with the checks
// the routers run before they change anything.
func (f *file) routers(d *doc, ro *v1alpha1.Rollout) {
	c := ro.Spec.Strategy.Canary
	tr := c.TrafficRouting
	const tp = "spec.strategy.canary.trafficRouting"
	// Without a stable Service validation.Rollout has already said so,
	// and no Ingress rule could match it.
	if tr.Nginx != nil && c.StableService != "" {
		for i, name := range nginx.StableIngresses(ro) {
			field := tp + ".nginx.stableIngress"
			if len(tr.Nginx.StableIngresses) > 0 {
				field = fmt.Sprintf("%s.nginx.stableIngresses[%d]", tp, i)
			}
			ing, ok := typedAs[*networkingv1.Ingress](f.reference(d, field, "Ingress", ingressGroup, name))
			if !ok {
				continue
			}
			if _, err := nginx.DesiredCanaryIngress(ro, ing, 0); err != nil {
				f.specError(d, field, err)
			}
		}
	}
	if tr.ALB != nil && (tr.ALB.Ingress != "" || len(tr.ALB.Ingresses) > 0) {
		for _, name := range alb.Ingresses(ro) {
			field := alb.IngressField(ro, name)
			if ing, ok := typedAs[*networkingv1.Ingress](f.reference(d, field, "Ingress", ingressGroup, name)); ok {
				if err := alb.CheckIngress(ro, ing); err != nil {
					f.specError(d, field, err)
				}
			}
		}
	}
	if tr.Istio != nil {
		split := istio.SplitOf(ro)
		for _, ref := range istio.VirtualServices(ro) {
			vs := f.reference(d, ref.Field+".name", "VirtualService", istioGroup, ref.Name)
			if vs == nil {
				continue
			}
			u := (&unstructured.Unstructured{Object: vs.obj}).DeepCopy()
			if _, err := istio.ApplyWeights(u, ref, split, 0, nil); err != nil {
				f.specError(d, ref.Field, err)
			}
		}
		if dr := tr.Istio.DestinationRule; dr != nil && dr.Name != "" {
			if o := f.reference(d, tp+".istio.destinationRule.name", "DestinationRule", istioGroup, dr.Name); o != nil {
				u := (&unstructured.Unstructured{Object: o.obj}).DeepCopy()
				if _, err := istio.ApplyHashes(u, dr, ro.Name, "canary-hash", "stable-hash", nil); err != nil {
					f.specError(d, tp+".istio.destinationRule", err)
				}
			}
		}
	}
	if tr.Traefik != nil && tr.Traefik.WeightedTraefikServiceName != "" {
		field := tp + ".traefik.weightedTraefikServiceName"
		if o := f.reference(d, field, "TraefikService", traefikGroup, tr.Traefik.WeightedTraefikServiceName); o != nil {
			u := (&unstructured.Unstructured{Object: o.obj}).DeepCopy()
			if _, err := traefik.SetWeights(u, c.CanaryService, c.StableService, 0, ro.MaxTrafficWeight()); err != nil {
				f.add(d, field, err.Error()+": list both Services under spec.weighted.services")
			}
		}
	}
	if tr.Ambassador != nil {
		// Mappings may be written under either group; which one the
		// controller reads is its --ambassador-api-version.
		for i, name := range tr.Ambassador.Mappings {
			field := fmt.Sprintf("%s.ambassador.mappings[%d]", tp, i)
			o := f.find("Mapping", []string{"getambassador.io"}, name, d.ns)
			if o == nil {
				o = f.find("AmbassadorMapping", []string{"x.getambassador.io"}, name, d.ns)
			}
			if o == nil {
				f.reference(d, field, "Mapping", []string{"getambassador.io"}, name)
				continue
			}
			if _, err := ambassador.Clone(&unstructured.Unstructured{Object: o.obj}, c.CanaryService, c.StableService, 0); err != nil {
				f.add(d, field, err.Error())
			}
		}
	}
	if tr.Apisix != nil && tr.Apisix.Route != nil && tr.Apisix.Route.Name != "" {
		field := tp + ".apisix.route.name"
		if o := f.reference(d, field, "ApisixRoute", []string{apisix.GVK.Group}, tr.Apisix.Route.Name); o != nil {
			u := (&unstructured.Unstructured{Object: o.obj}).DeepCopy()
			if err := apisix.SetWeights(u, apisix.Rules(ro), c.CanaryService, c.StableService, 0); err != nil {
				f.add(d, tp+".apisix.route.rules", err.Error())
			}
		}
	}
	if am := tr.AppMesh; am != nil && am.VirtualService != nil && am.VirtualNodeGroup != nil &&
		am.VirtualNodeGroup.CanaryVirtualNodeRef != nil && am.VirtualNodeGroup.StableVirtualNodeRef != nil {
		f.appMesh(d, ro, am)
	}
	if raw, ok := tr.Plugins[gatewayapi.ConfigKey]; ok {
		cfg, err := gatewayapi.ParseConfig(raw)
		if err != nil {
			return // validation.Rollout has reported it
		}
		for _, rt := range cfg.Routes() {
			if rt.Name == "" {
				continue // a selector: which routes it finds depends on the cluster
			}
			ns := cfg.Namespace
			if ns == "" {
				ns = d.ns
			}
			o := f.find(string(rt.Kind), []string{gatewayapi.Group}, rt.Name, ns)
			if o == nil {
				if f.has(string(rt.Kind), []string{gatewayapi.Group}) {
					f.add(d, rt.Field, fmt.Sprintf("%s %q is not in this file, which has other %ss: add it or correct the name", rt.Kind, rt.Name, rt.Kind))
				}
				continue
			}
			if err := gatewayapi.CheckRoute(ro, rt, &unstructured.Unstructured{Object: o.obj}); err != nil {
				f.specError(d, rt.Field, err)
			}
		}
	}
}

// appMesh checks the VirtualRouter behind the Rollout's VirtualService
// has the routes and targets the App Mesh router weighs, when both are in
// the file.
func (f *file) appMesh(d *doc, ro *v1alpha1.Rollout, am *v1alpha1.AppMeshTrafficRouting) {
	const tp = "spec.strategy.canary.trafficRouting.appMesh"
	groups := []string{appmesh.Group}
	vs := f.reference(d, tp+".virtualService.name", "VirtualService", groups, am.VirtualService.Name)
	for _, ref := range []struct{ field, name string }{
		{tp + ".virtualNodeGroup.canaryVirtualNodeRef.name", am.VirtualNodeGroup.CanaryVirtualNodeRef.Name},
		{tp + ".virtualNodeGroup.stableVirtualNodeRef.name", am.VirtualNodeGroup.StableVirtualNodeRef.Name},
	} {
		f.reference(d, ref.field, "VirtualNode", groups, ref.name)
	}
	if vs == nil {
		return
	}
	name, _, _ := unstructured.NestedString(vs.obj, "spec", "provider", "virtualRouter", "virtualRouterRef", "name")
	vr := f.find("VirtualRouter", groups, name, d.ns)
	if vr == nil {
		return
	}
	u := (&unstructured.Unstructured{Object: vr.obj}).DeepCopy()
	if err := appmesh.SetWeights(u, am.VirtualService.Routes, d.ns, am.VirtualNodeGroup.CanaryVirtualNodeRef.Name, am.VirtualNodeGroup.StableVirtualNodeRef.Name, 0); err != nil {
		f.add(d, tp+".virtualService.routes", err.Error())
	}
}

// analysis is one analysis a Rollout or Experiment asks for, as lint
// checks it: where it is written, the templates it merges and the run's
// own arguments and rules.
type analysis struct {
	field                string
	refs                 []v1alpha1.AnalysisTemplateRef
	args                 []v1alpha1.Argument
	dryRun               []v1alpha1.DryRun
	measurementRetention []v1alpha1.MeasurementRetention
	// caller says where the run's own args are written, for messages
	// (empty: the rollout's analysis).
	caller string
	// refField names the field of the i-th template reference.
	refField func(i int) string
}

// analyses checks every analysis the Rollout asks for (canary background
// and step analyses, experiment steps' analyses, blue-green pre- and
// post-promotion). Argument values the controller only knows at run time
// (pod-template hashes, field references) stand in as placeholders.
func (f *file) analyses(d *doc, ro *v1alpha1.Rollout) {
	var as []analysis
	add := func(field string, a *v1alpha1.RolloutAnalysis) {
		as = append(as, analysis{field: field, refs: a.Templates, args: placeholderArgs(ro, a.Args), dryRun: a.DryRun, measurementRetention: a.MeasurementRetention,
			refField: func(i int) string { return fmt.Sprintf("%s.templates[%d].templateName", field, i) }})
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		if c.Analysis != nil {
			add("spec.strategy.canary.analysis", &c.Analysis.RolloutAnalysis)
		}
		for i, s := range c.Steps {
			if s.Analysis != nil {
				add(fmt.Sprintf("spec.strategy.canary.steps[%d].analysis", i), s.Analysis)
			}
			if s.Experiment == nil {
				continue
			}
			// Each experiment analysis becomes a run of the Experiment,
			// with the step's dryRun; its {{templates...}} placeholders are
			// the Experiment's to fill and pass through as text.
			for j, a := range s.Experiment.Analyses {
				field := fmt.Sprintf("spec.strategy.canary.steps[%d].experiment.analyses[%d]", i, j)
				as = append(as, analysis{field: field, refs: []v1alpha1.AnalysisTemplateRef{{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}},
					args: placeholderArgs(ro, a.Args), dryRun: s.Experiment.DryRun, caller: "the experiment step's analysis",
					refField: func(int) string { return field + ".templateName" }})
			}
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		if bg.PrePromotionAnalysis != nil {
			add("spec.strategy.blueGreen.prePromotionAnalysis", bg.PrePromotionAnalysis)
		}
		if bg.PostPromotionAnalysis != nil {
			add("spec.strategy.blueGreen.postPromotionAnalysis", bg.PostPromotionAnalysis)
		}
	}
	for _, a := range as {
		f.analysis(d, a)
	}
}

// analysis builds, with the controller's code, the AnalysisRun spec of a
// whose templates are all in the file. A template missing from the file is
// reported (when the file has templates of that kind) but does not make
// the analysis an error, since it may already be on the cluster.
func (f *file) analysis(d *doc, a analysis) {
	complete := true
	lookup := func(name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
		if spec := f.templateSpec(name, cluster); spec != nil {
			return spec, nil
		}
		complete = false
		return nil, errors.New("not in this file")
	}
	for i, ref := range a.refs {
		kind := "AnalysisTemplate"
		if ref.IsClusterScope() {
			kind = "ClusterAnalysisTemplate"
		}
		f.reference(d, a.refField(i), kind, argoGroup, ref.TemplateName)
	}
	if _, err := templates.Collect(a.refs, lookup); err != nil || !complete {
		return
	}
	req := templates.Request{Templates: a.refs, Args: a.args, DryRun: a.dryRun, MeasurementRetention: a.measurementRetention, Caller: a.caller}
	if _, err := templates.Build(req, lookup); err != nil {
		f.add(d, a.field, fmt.Sprintf("the controller could not start this analysis: %v", err))
	}
}

// experiment checks an Experiment with the experiment controller's own
// validation (what it would mark InvalidSpec), then its analyses as the
// controller would build their runs. Placeholders such as
// {{templates.canary.podTemplateHash}} are the controller's to fill, so
// they reach the templates as text; Validate has checked that they name
// something.
func (f *file) experiment(d *doc, ex *v1alpha1.Experiment) {
	for _, msg := range experiment.Validate(ex) {
		field, rest, ok := strings.Cut(msg, ": ")
		if !ok {
			field, rest = "", msg
		}
		f.add(d, field, rest)
	}
	for i, a := range ex.Spec.Analyses {
		field := fmt.Sprintf("spec.analyses[%d]", i)
		f.analysis(d, analysis{field: field, refs: []v1alpha1.AnalysisTemplateRef{{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}},
			args: a.Args, dryRun: ex.Spec.DryRun, measurementRetention: ex.Spec.MeasurementRetention, caller: "the Experiment's analysis",
			refField: func(int) string { return field + ".templateName" }})
	}
}

// templateSpec is the spec of the (Cluster)AnalysisTemplate called name in
// the file, or nil.
func (f *file) templateSpec(name string, cluster bool) *v1alpha1.AnalysisTemplateSpec {
	for _, d := range f.docs {
		if d.name != name {
			continue
		}
		switch t := d.typed.(type) {
		case *v1alpha1.AnalysisTemplate:
			if !cluster {
				return &t.Spec
			}
		case *v1alpha1.ClusterAnalysisTemplate:
			if cluster {
				return &t.Spec
			}
		}
	}
	return nil
}

// placeholderArgs are the Rollout's analysis arguments as the controller
// would pass them, with the values only known at run time replaced by
// placeholders; labels and annotations are read from the Rollout.
func placeholderArgs(ro *v1alpha1.Rollout, in []v1alpha1.AnalysisRunArgument) []v1alpha1.Argument {
	out := make([]v1alpha1.Argument, 0, len(in))
	for _, a := range in {
		v := a.Value
		if src := a.ValueFrom; src != nil {
			switch {
			case src.PodTemplateHashValue != nil:
				v = "pod-template-hash"
			case src.FieldRef != nil:
				v = fieldPlaceholder(ro, src.FieldRef.FieldPath)
			}
		}
		out = append(out, v1alpha1.Argument{Name: a.Name, Value: &v})
	}
	return out
}

var labelPath = regexp.MustCompile(`^metadata\.(labels|annotations)\['(.*)'\]$`)

func fieldPlaceholder(ro *v1alpha1.Rollout, path string) string {
	if m := labelPath.FindStringSubmatch(path); m != nil {
		if m[1] == "labels" {
			return ro.Labels[m[2]]
		}
		return ro.Annotations[m[2]]
	}
	return "field-value"
}

// template checks an AnalysisTemplate's metrics on their own: names used
// once, and each metric without {{args.*}} placeholders read by the
// controller's parser (one with placeholders can only be read once a run
// supplies the arguments, which analyses does for the Rollouts in the
// file).
func (f *file) template(d *doc, spec *v1alpha1.AnalysisTemplateSpec) {
	seen := map[string]bool{}
	for i, m := range spec.Metrics {
		field := fmt.Sprintf("spec.metrics[%d]", i)
		if seen[m.Name] {
			f.add(d, field+".name", fmt.Sprintf("metric name %q is used twice: give each metric its own name", m.Name))
			continue
		}
		seen[m.Name] = true
		if _, ok := m.Provider.Plugin[judge.PluginKey]; ok {
			if err := judge.Check(m); err != nil {
				f.add(d, field, err.Error())
			}
		}
		raw, err := json.Marshal(m)
		if err != nil {
			f.add(d, field, fmt.Sprintf("cannot be encoded: %v", err))
			continue
		}
		if bytes.Contains(raw, []byte("{{")) {
			continue
		}
		if _, err := templates.Parse(m); err != nil {
			f.add(d, field, err.Error())
		}
	}
	if len(spec.Metrics) == 0 && len(spec.Templates) == 0 {
		f.add(d, "spec.metrics", "a template needs at least one metric (or nested templates)")
	}
}
