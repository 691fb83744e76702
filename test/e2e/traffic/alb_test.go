package traffic

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic/alb"
	"github.com/aviary-rollouts/aviary/internal/traffic/alb/elbv2fake"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// albRollout is a canary routed through ALB Ingresses; REPLICAS, ALB and
// EXTRA (more canary fields) are filled in by each test.
const albRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: argoproj/rollouts-demo:blue
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
EXTRA
      trafficRouting:
ALB
---
apiVersion: v1
kind: Service
metadata: {name: web-stable}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-canary}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
`

// albIngress is an Ingress as the AWS Load Balancer Controller reads it:
// its path's backend takes the action annotation of the root Service.
func albIngress(name, root string) string {
	return fmt.Sprintf(`---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %s
  annotations: {alb.ingress.kubernetes.io/scheme: internet-facing}
spec:
  rules:
  - http:
      paths:
      - path: /*
        pathType: ImplementationSpecific
        backend:
          service: {name: %s, port: {name: use-annotation}}
`, name, root)
}

// forward is the action annotation Argo Rollouts writes for canary weight w.
func forward(w int) string {
	return fmt.Sprintf(`{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"web-canary","ServicePort":"80","Weight":%d},{"ServiceName":"web-stable","ServicePort":"80","Weight":%d}]}}`, w, 100-w)
}

type albEnv struct {
	t   *testing.T
	e   *framework.Env
	ns  string
	ctx context.Context
}

func startALB(t *testing.T, replicas int, extra, routing string, ingresses ...string) *albEnv {
	a := &albEnv{t: t, e: framework.Get(t), ns: framework.Namespace(t), ctx: context.Background()}
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", a.ns)
	m := strings.NewReplacer("REPLICAS", fmt.Sprint(replicas), "EXTRA", extra, "ALB", routing).Replace(albRollout)
	m += strings.Join(ingresses, "")
	if out, err := a.e.KubectlStdin(a.ctx, []byte(m), "apply", "-n", a.ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	a.wait(60*time.Second, "the first version Healthy", func(r *v1alpha1.Rollout) (bool, string) {
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, ""
	})
	return a
}

func (a *albEnv) rollout() *v1alpha1.Rollout {
	var r v1alpha1.Rollout
	if err := a.e.Client.Get(a.ctx, framework.Key(a.ns, "web"), &r); err != nil {
		a.t.Fatal(err)
	}
	return &r
}

func (a *albEnv) ingress(name string) *networkingv1.Ingress {
	var ing networkingv1.Ingress
	if err := a.e.Client.Get(a.ctx, framework.Key(a.ns, name), &ing); err != nil {
		a.t.Fatal(err)
	}
	return &ing
}

// sets is "replicas/available" of each ReplicaSet by pod-template hash,
// and whether it carries a scale-down deadline.
type setState struct {
	replicas, available int32
	deadline            bool
}

func (a *albEnv) sets() map[string]setState {
	var list appsv1.ReplicaSetList
	if err := a.e.Client.List(a.ctx, &list, client.InNamespace(a.ns)); err != nil {
		a.t.Fatal(err)
	}
	out := map[string]setState{}
	for _, rs := range list.Items {
		out[rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]] = setState{*rs.Spec.Replicas, rs.Status.AvailableReplicas,
			rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] != ""}
	}
	return out
}

// wait polls until ok, showing the phase, message and the ReplicaSets.
func (a *albEnv) wait(timeout time.Duration, what string, ok func(r *v1alpha1.Rollout) (bool, string)) {
	a.t.Helper()
	framework.Eventually(a.t, timeout, what, func() (bool, string) {
		r := a.rollout()
		done, msg := ok(r)
		return done, fmt.Sprintf("%s %q step %v; sets %+v; %s", r.Status.Phase, r.Status.Message, r.Status.CurrentStepIndex, a.sets(), msg)
	})
}

// TestALBCanary walks a canary through an ALB Ingress to completion and
// through an abort: the actions annotation carries each step's weight in
// Argo Rollouts' wire format, the header route's annotations and path
// come and go, the previous stable waits out scaleDownDelaySeconds and
// the aborted canary abortScaleDownDelaySeconds before going to 0.
func TestALBCanary(t *testing.T) {
	extra := `      scaleDownDelaySeconds: 8
      abortScaleDownDelaySeconds: 8
      steps:
      - setWeight: 30
      - setHeaderRoute:
          name: hdr
          match:
          - headerName: x-canary
            headerValue: {exact: "yes"}
      - pause: {}
      - setWeight: 70
      - pause: {}`
	routing := "        managedRoutes: [{name: hdr}]\n        alb: {ingress: web, servicePort: 80}"
	a := startALB(t, 2, extra, routing, albIngress("web", "web-stable"))
	const key = "alb.ingress.kubernetes.io/actions.web-stable"
	annotation := func(ing *networkingv1.Ingress) string { return ing.Annotations[key] }
	atWeight := func(what string, w int, phase v1alpha1.RolloutPhase, also func(r *v1alpha1.Rollout, sets map[string]setState) bool) {
		t.Helper()
		a.wait(90*time.Second, what, func(r *v1alpha1.Rollout) (bool, string) {
			got := annotation(a.ingress("web"))
			return got == forward(w) && r.Status.Phase == phase && (also == nil || also(r, a.sets())), "annotation " + got
		})
	}
	framework.SetRolloutImage(t, a.ns, "web", "argoproj/rollouts-demo:green")
	atWeight("30% with the header route, paused", 30, v1alpha1.RolloutPhasePaused, func(r *v1alpha1.Rollout, s map[string]setState) bool {
		return s[r.Status.CurrentPodHash].replicas == 1 && s[r.Status.StableRS].replicas == 2
	})
	ing := a.ingress("web")
	if got, want := ing.Annotations["rollouts.argoproj.io/managed-alb-annotations"],
		`{"web":["alb.ingress.kubernetes.io/actions.web-stable","alb.ingress.kubernetes.io/actions.hdr","alb.ingress.kubernetes.io/conditions.hdr"]}`; got != want {
		t.Errorf("managed annotations %s, want %s", got, want)
	}
	if got, want := ing.Annotations["alb.ingress.kubernetes.io/conditions.hdr"], `[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"x-canary","values":["yes"]}}]`; got != want {
		t.Errorf("conditions %s, want %s", got, want)
	}
	if got, want := ing.Annotations["alb.ingress.kubernetes.io/actions.hdr"], `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"web-canary","ServicePort":"80","Weight":100}]}}`; got != want {
		t.Errorf("header action %s, want %s", got, want)
	}
	if p := ing.Spec.Rules[0].HTTP.Paths; len(p) != 2 || p[0].Backend.Service.Name != "hdr" || p[0].Backend.Service.Port.Name != "use-annotation" {
		t.Errorf("paths %+v, want the hdr use-annotation path first", p)
	}
	if ing.Annotations["alb.ingress.kubernetes.io/scheme"] != "internet-facing" {
		t.Error("the Ingress's own annotation was dropped")
	}
	framework.PatchRolloutStatus(t, a.ns, "web", `{"status":{"pauseConditions":null}}`)
	atWeight("70%, paused", 70, v1alpha1.RolloutPhasePaused, func(r *v1alpha1.Rollout, s map[string]setState) bool {
		return s[r.Status.CurrentPodHash].replicas == 2 && s[r.Status.StableRS].replicas == 2
	})
	old := a.rollout().Status.StableRS
	framework.PatchRolloutStatus(t, a.ns, "web", `{"status":{"pauseConditions":null}}`)
	atWeight("complete: the new stable, weight back to 0, the old stable kept with a deadline", 0, v1alpha1.RolloutPhaseHealthy, func(r *v1alpha1.Rollout, s map[string]setState) bool {
		return r.Status.StableRS == r.Status.CurrentPodHash && r.Status.StableRS != old && s[old].replicas == 2 && s[old].deadline
	})
	ing = a.ingress("web")
	if _, ok := ing.Annotations["alb.ingress.kubernetes.io/actions.hdr"]; ok || len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
		t.Errorf("the header route outlived the update: %v %+v", ing.Annotations, ing.Spec.Rules[0].HTTP.Paths)
	}
	a.wait(60*time.Second, "the old stable at 0 after scaleDownDelaySeconds", func(r *v1alpha1.Rollout) (bool, string) {
		return a.sets()[old].replicas == 0, ""
	})

	// A third version, aborted at 30%: the weight returns to the stable in
	// the reconcile that records the abort; the canary keeps its pod for
	// abortScaleDownDelaySeconds, then goes to 0.
	framework.SetRolloutImage(t, a.ns, "web", "argoproj/rollouts-demo:yellow")
	atWeight("the third version at 30%", 30, v1alpha1.RolloutPhasePaused, nil)
	canary := a.rollout().Status.CurrentPodHash
	framework.PatchRolloutStatus(t, a.ns, "web", `{"status":{"abort":true}}`)
	a.wait(30*time.Second, "aborted: weight 0, the canary kept with a deadline", func(r *v1alpha1.Rollout) (bool, string) {
		got := annotation(a.ingress("web"))
		if r.Status.Phase == v1alpha1.RolloutPhaseDegraded && got != forward(0) {
			t.Fatalf("Degraded while the annotation is still %s", got)
		}
		s := a.sets()[canary]
		return r.Status.Phase == v1alpha1.RolloutPhaseDegraded && s.replicas == 1 && s.deadline, "annotation " + got
	})
	a.wait(60*time.Second, "the aborted canary at 0 after abortScaleDownDelaySeconds", func(r *v1alpha1.Rollout) (bool, string) {
		return a.sets()[canary].replicas == 0 && annotation(a.ingress("web")) == forward(0), ""
	})
}

// TestALBDynamicStableScale: with dynamicStableScale the stable shrinks as
// the canary's weight grows, on every Ingress listed, under rootService's
// key; an abort gives the stable back its replicas and the traffic, and
// the canary goes to 0.
func TestALBDynamicStableScale(t *testing.T) {
	extra := `      dynamicStableScale: true
      steps:
      - setWeight: 25
      - pause: {}
      - setWeight: 75
      - pause: {}`
	routing := "        alb: {ingresses: [web-a, web-b], rootService: web-root, servicePort: 80}"
	a := startALB(t, 4, extra, routing, albIngress("web-a", "web-root"), albIngress("web-b", "web-root"))
	const key = "alb.ingress.kubernetes.io/actions.web-root"
	both := func(w int) (bool, string) {
		x, y := a.ingress("web-a").Annotations[key], a.ingress("web-b").Annotations[key]
		return x == forward(w) && y == forward(w), "annotations " + x + " " + y
	}
	framework.SetRolloutImage(t, a.ns, "web", "argoproj/rollouts-demo:green")
	a.wait(90*time.Second, "25%: canary 1, stable 3", func(r *v1alpha1.Rollout) (bool, string) {
		ok, msg := both(25)
		s := a.sets()
		return ok && r.Status.Phase == v1alpha1.RolloutPhasePaused && s[r.Status.CurrentPodHash].replicas == 1 && s[r.Status.StableRS].replicas == 3, msg
	})
	framework.PatchRolloutStatus(t, a.ns, "web", `{"status":{"pauseConditions":null}}`)
	a.wait(90*time.Second, "75%: canary 3, stable 1", func(r *v1alpha1.Rollout) (bool, string) {
		ok, msg := both(75)
		s := a.sets()
		return ok && r.Status.Phase == v1alpha1.RolloutPhasePaused && s[r.Status.CurrentPodHash].replicas == 3 && s[r.Status.StableRS].replicas == 1, msg
	})
	canary := a.rollout().Status.CurrentPodHash
	framework.PatchRolloutStatus(t, a.ns, "web", `{"status":{"abort":true}}`)
	a.wait(90*time.Second, "aborted: weight 0 on both Ingresses, stable 4, canary 0", func(r *v1alpha1.Rollout) (bool, string) {
		ok, msg := both(0)
		s := a.sets()
		return ok && r.Status.Phase == v1alpha1.RolloutPhaseDegraded && s[r.Status.StableRS].replicas == 4 && s[r.Status.StableRS].available == 4 && s[canary].replicas == 0, msg
	})
	if got := a.ingress("web-b").Annotations["rollouts.argoproj.io/managed-alb-annotations"]; got != `{"web":["alb.ingress.kubernetes.io/actions.web-root"]}` {
		t.Errorf("managed annotations %s", got)
	}
}

// TestALBWeightVerification runs the controller with
// --aws-verify-target-group against a stand-in ELBv2 API: the setWeight
// step waits, saying which weight, while the load balancer's rule still
// has the old weights, and completes once they match; the promotion at
// the end waits for 100% the same way.
func TestALBWeightVerification(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	const dns = "k8s-web-1234567890.us-west-2.elb.amazonaws.com"
	lb := elbv2fake.New("k8s-web", dns,
		elbv2fake.Group{Name: "k8s-web-canary", Tags: map[string]string{alb.DefaultTagKey: ns + "/web-web-canary:80"}, Weight: 0},
		elbv2fake.Group{Name: "k8s-web-stable", Tags: map[string]string{alb.DefaultTagKey: ns + "/web-web-stable:80"}, Weight: 100})
	t.Cleanup(lb.Close)
	framework.StartControllerEnv(t, []string{"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=" + lb.URL, "AWS_REGION=us-west-2",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "AWS_EC2_METADATA_DISABLED=true"},
		"--leader-elect=false", "--namespaced", "--namespace", ns, "--aws-verify-target-group")
	extra := "      steps:\n      - setWeight: 30\n      - pause: {}"
	m := strings.NewReplacer("REPLICAS", "2", "EXTRA", extra, "ALB", "        alb: {ingress: web, servicePort: 80}").Replace(albRollout) + albIngress("web", "web-stable")
	if out, err := e.KubectlStdin(ctx, []byte(m), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	// The load balancer controller would publish the load balancer's name.
	if out, err := e.Kubectl(ctx, "patch", "ingress", "web", "-n", ns, "--subresource=status", "--type=merge",
		"-p", `{"status":{"loadBalancer":{"ingress":[{"hostname":"`+dns+`"}]}}}`); err != nil {
		t.Fatalf("patch ingress status: %v\n%s", err, out)
	}
	a := &albEnv{t: t, e: e, ns: ns, ctx: ctx}
	a.wait(60*time.Second, "the first version Healthy", func(r *v1alpha1.Rollout) (bool, string) {
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, ""
	})
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	waiting := func(w int32) func(r *v1alpha1.Rollout) (bool, string) {
		return func(r *v1alpha1.Rollout) (bool, string) {
			ws := r.Status.Canary.Weights
			ok := r.Status.Phase == v1alpha1.RolloutPhaseProgressing && ws != nil && ws.Canary.Weight == w && ws.Verified != nil && !*ws.Verified &&
				r.Status.Message == fmt.Sprintf("waiting for the load balancer to apply canary weight %d (weights not yet verified)", w) &&
				r.Status.StableRS != r.Status.CurrentPodHash
			return ok, fmt.Sprintf("weights %+v", ws)
		}
	}
	a.wait(60*time.Second, "the step held at 30% while the load balancer has 0", waiting(30))
	if got := annotationOf(a.ingress("web")); got != forward(30) {
		t.Fatalf("annotation %s while waiting", got)
	}
	// Held, not merely slow: still at step 0 after the controller checked
	// the load balancer again.
	checkedAgain(t, lb, "DescribeRules")
	if r := a.rollout(); *r.Status.CurrentStepIndex != 0 || r.Status.Phase != v1alpha1.RolloutPhaseProgressing {
		t.Fatalf("the step moved on unverified: step %d %s %q", *r.Status.CurrentStepIndex, r.Status.Phase, r.Status.Message)
	}
	if !slices.ContainsFunc(framework.RolloutEventMessages(t, ns, alb.ReasonUnverified), func(m string) bool {
		return strings.Contains(m, "web-canary: weight 0, want 30")
	}) {
		t.Errorf("no TargetGroupUnverified event naming the load balancer's weight: %v", framework.RolloutEventMessages(t, ns, alb.ReasonUnverified))
	}
	lb.SetWeight("k8s-web-canary", 30)
	lb.SetWeight("k8s-web-stable", 70)
	// At the pause that follows nothing is verified (verified unset), as
	// with Argo Rollouts, which asks AWS only at setWeight steps.
	a.wait(60*time.Second, "verified: the step completes and the rollout pauses", func(r *v1alpha1.Rollout) (bool, string) {
		ws := r.Status.Canary.Weights
		return r.Status.Phase == v1alpha1.RolloutPhasePaused && *r.Status.CurrentStepIndex == 1 && ws != nil && ws.Canary.Weight == 30, fmt.Sprintf("weights %+v", ws)
	})
	if !slices.Contains(framework.RolloutEventMessages(t, ns, alb.ReasonVerified), "canary weight 30 verified on the load balancer of every Ingress") {
		t.Errorf("no TargetGroupVerified event for 30: %v", framework.RolloutEventMessages(t, ns, alb.ReasonVerified))
	}
	r := a.rollout()
	if r.Status.ALB == nil || r.Status.ALB.LoadBalancer.Name != "k8s-web" || r.Status.ALB.CanaryTargetGroup.Name != "k8s-web-canary" ||
		r.Status.ALB.StableTargetGroup.Name != "k8s-web-stable" || r.Status.ALB.Ingress != "web" || len(r.Status.ALBs) != 1 {
		t.Errorf("status.alb %+v albs %+v", r.Status.ALB, r.Status.ALBs)
	}
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	a.wait(60*time.Second, "the promotion held at 100% while the load balancer has 30", waiting(100))
	lb.SetWeight("k8s-web-canary", 100)
	lb.SetWeight("k8s-web-stable", 0)
	a.wait(60*time.Second, "verified at 100: promoted", func(r *v1alpha1.Rollout) (bool, string) {
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy && r.Status.StableRS == r.Status.CurrentPodHash, ""
	})
	if errs := lb.Errors(); len(errs) > 0 {
		t.Errorf("malformed ELBv2 requests: %v", errs)
	}
}

func annotationOf(ing *networkingv1.Ingress) string {
	return ing.Annotations["alb.ingress.kubernetes.io/actions.web-stable"]
}

// TestALBPingPong: with pingPong the two Services swap roles at each
// promotion. The first deploy makes ping stable; an update points pong at
// the new pods and weights pong against ping; once promoted pong is
// stable with all the weight, and the next update goes to ping; an abort
// gives pong everything back.
func TestALBPingPong(t *testing.T) {
	extra := `      pingPong: {pingService: web-ping, pongService: web-pong}
      steps:
      - setWeight: 30
      - pause: {}`
	svc := func(name string) string {
		return fmt.Sprintf("---\napiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n", name)
	}
	// The stable/canary Services of albRollout stay unused: ping-pong
	// takes their place for ALB.
	routing := "        alb: {ingress: web, rootService: web-root, servicePort: 80}"
	a := startALB(t, 2, extra, routing, albIngress("web", "web-root"), svc("web-ping"), svc("web-pong"), svc("web-root"))
	const key = "alb.ingress.kubernetes.io/actions.web-root"
	action := func(canary string, w int, stable string) string {
		return fmt.Sprintf(`{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"%s","ServicePort":"80","Weight":%d},{"ServiceName":"%s","ServicePort":"80","Weight":%d}]}}`, canary, w, stable, 100-w)
	}
	selector := func(name string) string {
		var s corev1.Service
		if err := a.e.Client.Get(a.ctx, framework.Key(a.ns, name), &s); err != nil {
			t.Fatal(err)
		}
		return s.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
	at := func(what string, phase v1alpha1.RolloutPhase, stablePP v1alpha1.PingPongType, want string) {
		t.Helper()
		a.wait(90*time.Second, what, func(r *v1alpha1.Rollout) (bool, string) {
			got := a.ingress("web").Annotations[key]
			return r.Status.Phase == phase && r.Status.Canary.StablePingPong == stablePP && got == want,
				fmt.Sprintf("stablePingPong %q annotation %s", r.Status.Canary.StablePingPong, got)
		})
	}
	if r := a.rollout(); r.Status.Canary.StablePingPong != v1alpha1.PPPing {
		t.Fatalf("after the first deploy stablePingPong %q, want ping", r.Status.Canary.StablePingPong)
	}
	framework.SetRolloutImage(t, a.ns, "web", "argoproj/rollouts-demo:green")
	at("v2 at 30% on pong", v1alpha1.RolloutPhasePaused, v1alpha1.PPPing, action("web-pong", 30, "web-ping"))
	v2 := a.rollout().Status.CurrentPodHash
	if got := selector("web-pong"); got != v2 {
		t.Errorf("pong selects %q, want the canary %q", got, v2)
	}
	if got := selector("web-ping"); got != "" {
		t.Errorf("ping, the stable, was re-pointed to %q", got)
	}
	framework.PatchRolloutStatus(t, a.ns, "web", `{"status":{"pauseConditions":null}}`)
	at("v2 promoted: pong stable with all the weight", v1alpha1.RolloutPhaseHealthy, v1alpha1.PPPong, action("web-ping", 0, "web-pong"))
	framework.SetRolloutImage(t, a.ns, "web", "argoproj/rollouts-demo:yellow")
	at("v3 at 30% on ping", v1alpha1.RolloutPhasePaused, v1alpha1.PPPong, action("web-ping", 30, "web-pong"))
	v3 := a.rollout().Status.CurrentPodHash
	if got, gotPong := selector("web-ping"), selector("web-pong"); got != v3 || gotPong != v2 {
		t.Errorf("ping selects %q (want %q), pong %q (want %q)", got, v3, gotPong, v2)
	}
	framework.PatchRolloutStatus(t, a.ns, "web", `{"status":{"abort":true}}`)
	at("v3 aborted: pong keeps everything", v1alpha1.RolloutPhaseDegraded, v1alpha1.PPPong, action("web-ping", 0, "web-pong"))
}

// TestALBTargetRegistration: with --aws-verify-target-group and a
// TargetGroupBinding (ip targets) for the stable Service, a promoted ALB
// canary keeps its old pods until the load balancer has registered every
// new stable pod; then the old ReplicaSet gets its scale-down deadline.
func TestALBTargetRegistration(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	const dns = "k8s-web-1234567890.us-west-2.elb.amazonaws.com"
	// The rule already has 100% on the canary, so the weight check passes
	// at once: this test is about registration.
	lb := elbv2fake.New("k8s-web", dns,
		elbv2fake.Group{Name: "k8s-web-canary", Tags: map[string]string{alb.DefaultTagKey: ns + "/web-web-canary:80"}, Weight: 100},
		elbv2fake.Group{Name: "k8s-web-stable", Tags: map[string]string{alb.DefaultTagKey: ns + "/web-web-stable:80"}, Weight: 0})
	t.Cleanup(lb.Close)
	framework.StartControllerEnv(t, []string{"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=" + lb.URL, "AWS_REGION=us-west-2",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "AWS_EC2_METADATA_DISABLED=true"},
		"--leader-elect=false", "--namespaced", "--namespace", ns, "--aws-verify-target-group")
	tgb := fmt.Sprintf(`---
apiVersion: elbv2.k8s.aws/v1beta1
kind: TargetGroupBinding
metadata: {name: web-stable}
spec:
  targetGroupARN: %s
  targetType: ip
  serviceRef: {name: web-stable, port: 80}
`, elbv2fake.GroupARN("k8s-web-stable"))
	m := strings.NewReplacer("REPLICAS", "2", "EXTRA", "      scaleDownDelaySeconds: 2", "ALB", "        alb: {ingress: web, servicePort: 80}").Replace(albRollout) +
		albIngress("web", "web-stable") + tgb
	if out, err := e.KubectlStdin(ctx, []byte(m), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if out, err := e.Kubectl(ctx, "patch", "ingress", "web", "-n", ns, "--subresource=status", "--type=merge",
		"-p", `{"status":{"loadBalancer":{"ingress":[{"hostname":"`+dns+`"}]}}}`); err != nil {
		t.Fatalf("patch ingress status: %v\n%s", err, out)
	}
	a := &albEnv{t: t, e: e, ns: ns, ctx: ctx}
	a.wait(60*time.Second, "the first version Healthy", func(r *v1alpha1.Rollout) (bool, string) {
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, ""
	})
	old := a.rollout().Status.StableRS
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	unregistered := func(m string) bool {
		return strings.Contains(m, "Service web-stable (TargetGroup "+elbv2fake.GroupARN("k8s-web-stable")+") not verified: 0/2")
	}
	a.wait(60*time.Second, "promoted, the old stable kept whole while no new pod is registered", func(r *v1alpha1.Rollout) (bool, string) {
		s := a.sets()[old]
		msgs := framework.RolloutEventMessages(t, ns, alb.ReasonUnverified)
		return r.Status.StableRS == r.Status.CurrentPodHash && r.Status.StableRS != old && s.replicas == 2 && !s.deadline &&
			slices.ContainsFunc(msgs, unregistered), fmt.Sprintf("events %v", msgs)
	})
	checkedAgain(t, lb, "DescribeTargetHealth")
	if s := a.sets()[old]; s.replicas != 2 || s.deadline {
		t.Fatalf("the old stable was let go before registration: %+v", s)
	}
	// The load balancer controller registers the new stable's pods.
	var pods corev1.PodList
	if err := e.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: a.rollout().Status.StableRS}); err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, p := range pods.Items {
		targets = append(targets, p.Status.PodIP+":8080")
	}
	lb.SetTargets("k8s-web-stable", targets...)
	a.wait(60*time.Second, "registered: the old stable scaled down after its delay", func(r *v1alpha1.Rollout) (bool, string) {
		return a.sets()[old].replicas == 0, fmt.Sprintf("targets %v", targets)
	})
	if !slices.ContainsFunc(framework.RolloutEventMessages(t, ns, alb.ReasonVerified), func(m string) bool {
		return strings.Contains(m, "Service web-stable (TargetGroup "+elbv2fake.GroupARN("k8s-web-stable")+") verified: 2 endpoints registered")
	}) {
		t.Errorf("no TargetGroupVerified event for the registration: %v", framework.RolloutEventMessages(t, ns, alb.ReasonVerified))
	}
	if errs := lb.Errors(); len(errs) > 0 {
		t.Errorf("malformed ELBv2 requests: %v", errs)
	}
}

// TestBlueGreenTargetRegistration: with --aws-verify-target-group and a
// TargetGroupBinding for the active Service, a blue-green update switches
// the active Service but becomes stable only once the load balancer has
// registered the new pods.
func TestBlueGreenTargetRegistration(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	lb := elbv2fake.New("k8s-web", "k8s-web.example", elbv2fake.Group{Name: "k8s-web-active"})
	t.Cleanup(lb.Close)
	framework.StartControllerEnv(t, []string{"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=" + lb.URL, "AWS_REGION=us-west-2",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "AWS_EC2_METADATA_DISABLED=true"},
		"--leader-elect=false", "--namespaced", "--namespace", ns, "--aws-verify-target-group")
	m := fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: argoproj/rollouts-demo:blue
  strategy:
    blueGreen: {activeService: web-active, scaleDownDelaySeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: web-active}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: elbv2.k8s.aws/v1beta1
kind: TargetGroupBinding
metadata: {name: web-active}
spec:
  targetGroupARN: %s
  targetType: ip
  serviceRef: {name: web-active, port: http}
`, elbv2fake.GroupARN("k8s-web-active"))
	if out, err := e.KubectlStdin(ctx, []byte(m), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	a := &albEnv{t: t, e: e, ns: ns, ctx: ctx}
	a.wait(60*time.Second, "the first version Healthy", func(r *v1alpha1.Rollout) (bool, string) {
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, ""
	})
	old := a.rollout().Status.StableRS
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	active := func() string {
		var s corev1.Service
		if err := e.Client.Get(ctx, framework.Key(ns, "web-active"), &s); err != nil {
			t.Fatal(err)
		}
		return s.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
	a.wait(60*time.Second, "switched, not promoted while no new pod is registered", func(r *v1alpha1.Rollout) (bool, string) {
		return active() == r.Status.CurrentPodHash && r.Status.CurrentPodHash != old && r.Status.StableRS == old &&
				slices.ContainsFunc(framework.RolloutEventMessages(t, ns, alb.ReasonUnverified), func(m string) bool { return strings.Contains(m, "0/2 endpoints registered") }),
			"active " + active()
	})
	checkedAgain(t, lb, "DescribeTargetHealth")
	if r := a.rollout(); r.Status.StableRS != old {
		t.Fatalf("promoted before registration: stable %s", r.Status.StableRS)
	}
	var pods corev1.PodList
	if err := e.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: a.rollout().Status.CurrentPodHash}); err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, p := range pods.Items {
		targets = append(targets, p.Status.PodIP+":8080")
	}
	lb.SetTargets("k8s-web-active", targets...)
	a.wait(60*time.Second, "registered: promoted", func(r *v1alpha1.Rollout) (bool, string) {
		return r.Status.StableRS == r.Status.CurrentPodHash && r.Status.Phase == v1alpha1.RolloutPhaseHealthy, ""
	})
	if errs := lb.Errors(); len(errs) > 0 {
		t.Errorf("malformed ELBv2 requests: %v", errs)
	}
}

// checkedAgain waits until the controller has made two more calls of
// action to the stand-in after the caller saw it waiting, so a held step
// is shown held by fresh readings, not by a guess at the requeue interval.
func checkedAgain(t *testing.T, lb *elbv2fake.Server, action string) {
	t.Helper()
	count := func() int {
		n := 0
		for _, c := range lb.Calls() {
			if c == action {
				n++
			}
		}
		return n
	}
	before := count()
	framework.Eventually(t, 60*time.Second, "the controller to check "+action+" again", func() (bool, string) {
		n := count()
		return n >= before+2, fmt.Sprintf("%d calls of %s, %d before", n, action, before)
	})
}
