package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/aviary-rollouts/aviary/internal/notify"
)

// TestNotificationSettingsInstalled: both installs create the ConfigMap and
// Secret, empty, under Argo Rollouts' names, and let the controller read
// those two objects by name — not every ConfigMap, nor list every Secret.
func TestNotificationSettingsInstalled(t *testing.T) {
	o := render(t, Config{})
	for file, role := range map[string]string{"install.yaml": "ClusterRole", "namespace-install.yaml": "Role"} {
		objs := objects(t, o.Dist[file])
		var cm corev1.ConfigMap
		var secret corev1.Secret
		find(t, objs, "ConfigMap", notify.ConfigMapName, &cm)
		find(t, objs, "Secret", notify.SecretName, &secret)
		if len(cm.Data)+len(cm.BinaryData)+len(secret.Data)+len(secret.StringData) != 0 {
			t.Errorf("%s: the notification settings must ship empty; keys are the user's", file)
		}
		var rules []rbacv1.PolicyRule
		if role == "ClusterRole" {
			var cr rbacv1.ClusterRole
			find(t, objs, role, "aviary-controller", &cr)
			rules = cr.Rules
		} else {
			var r rbacv1.Role
			find(t, objs, role, "aviary-controller", &r)
			rules = r.Rules
		}
		granted := flat(rules)
		for _, v := range []string{"get", "list", "watch"} {
			for _, want := range []string{"/configmaps[" + notify.ConfigMapName + "]:" + v, "/secrets[" + notify.SecretName + "]:" + v} {
				if !granted[want] {
					t.Errorf("%s: the %s lacks %s", file, role, want)
				}
			}
		}
		for k := range granted {
			if strings.HasPrefix(k, "/configmaps:") || k == "/secrets:list" || k == "/secrets:watch" {
				t.Errorf("%s: the %s grants %s; the controller reads only the notification settings, by name", file, role, k)
			}
		}
	}
}

// TestChartNotifications: by default the chart creates the empty ConfigMap
// and, as Argo Rollouts' chart, no Secret; Argo's values fill them in a
// form the engine reads, and selfServiceNotification sets the flag.
func TestChartNotifications(t *testing.T) {
	objs := mustRenderChart(t, "")
	var cm corev1.ConfigMap
	find(t, objs, "ConfigMap", notify.ConfigMapName, &cm)
	if len(cm.Data) != 0 || cm.Namespace != "aviary" {
		t.Errorf("default ConfigMap %s/%s has data %v, want empty in aviary", cm.Namespace, cm.Name, cm.Data)
	}
	if has(objs, "Secret", notify.SecretName) {
		t.Error("the Secret is created by default; Argo Rollouts' chart leaves it to the user (notifications.secret.create)")
	}
	var d appsv1.Deployment
	find(t, objs, "Deployment", "aviary-controller", &d)
	if slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--self-service-notification-enabled") {
		t.Error("self-service notifications are on by default")
	}

	objs = mustRenderChart(t, chartValueSets["notifications"])
	cm = corev1.ConfigMap{}
	var secret corev1.Secret
	find(t, objs, "ConfigMap", notify.ConfigMapName, &cm)
	find(t, objs, "Secret", notify.SecretName, &secret)
	if secret.StringData["slack-token"] != "xoxb-test" || secret.Annotations["team"] != "platform" || secret.Namespace != "aviary" {
		t.Errorf("Secret %s/%s: stringData %v annotations %v", secret.Namespace, secret.Name, secret.StringData, secret.Annotations)
	}
	secret.Data = map[string][]byte{"slack-token": []byte(secret.StringData["slack-token"])}
	cfg, err := api.ParseConfig(&cm, &secret)
	if err != nil {
		t.Fatalf("the engine refuses the chart's ConfigMap %v: %v", cm.Data, err)
	}
	if c := cfg.Triggers["on-purple"]; len(c) != 1 || !slices.Equal(c[0].Send, []string{"my-template"}) || c[0].When != "rollout.spec.replicas == 2" {
		t.Errorf("trigger on-purple = %+v", c)
	}
	if got := cfg.Templates["my-template"].Message; got != "Rollout {{.rollout.metadata.name}} is purple" {
		t.Errorf("template my-template message %q", got)
	}
	if _, ok := cfg.Services["slack"]; !ok {
		t.Errorf("services %v lack slack", cfg.Services)
	}
	dests := cfg.GetGlobalDestinations(map[string]string{})
	if want := []services.Destination{{Service: "slack", Recipient: "deploys"}}; !slices.Equal(dests["on-purple"], want) {
		t.Errorf("default subscriptions give %v, want on-purple → %v", dests, want)
	}
	find(t, objs, "Deployment", "aviary-controller", &d)
	args := d.Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "--self-service-notification-enabled") {
		t.Errorf("args %v lack --self-service-notification-enabled", args)
	}
	parseControllerArgs(t, args, "aviary")
}
