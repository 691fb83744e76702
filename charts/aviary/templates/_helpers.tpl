{{/* The chart's name, overridable. */}}
{{- define "aviary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every object name: the release name, with the chart's name
unless the release name holds it already. */}}
{{- define "aviary.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "aviary.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "aviary.controller.fullname" -}}
{{- printf "%s-controller" (include "aviary.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aviary.dashboard.fullname" -}}
{{- printf "%s-dashboard" (include "aviary.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aviary.controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "aviary.controller.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "aviary.dashboard.serviceAccountName" -}}
{{- if .Values.dashboard.serviceAccount.create -}}
{{- default (include "aviary.dashboard.fullname" .) .Values.dashboard.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.dashboard.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "aviary.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: aviary
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels; call with (dict "ctx" $ "component" "controller"). */}}
{{- define "aviary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aviary.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image reference from {registry, repository, tag}; call with
(dict "image" .Values.controller.image "ctx" $). */}}
{{- define "aviary.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .image.tag -}}
{{- if .image.registry -}}
{{- printf "%s/%s:%s" .image.registry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* What the controller does to namespaced objects, the same in both modes
(the rules of manifests/cluster-install and manifests/namespace-install;
the chart's test keeps them equal). */}}
{{- define "aviary.controller.rules" -}}
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [get, list, watch, patch]
- apiGroups: [argoproj.io]
  resources: [rollouts/status]
  verbs: [patch]
- apiGroups: [argoproj.io]
  resources: [analysisruns]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [argoproj.io]
  resources: [analysisruns/status]
  verbs: [patch]
- apiGroups: [argoproj.io]
  resources: [experiments]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [argoproj.io]
  resources: [analysistemplates]
  verbs: [get, list, watch]
- apiGroups: [argoproj.io]
  resources: [experiments/status]
  verbs: [patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [argo-rollouts-notification-configmap]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [secrets]
  resourceNames: [argo-rollouts-notification-secret]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [argo-rollouts-config]
  verbs: [get]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, patch]
- apiGroups: [""]
  resources: [podtemplates]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, patch]
- apiGroups: [""]
  resources: [pods/eviction]
  verbs: [create]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [elbv2.k8s.aws]
  resources: [targetgroupbindings]
  verbs: [list]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list]
- apiGroups: [traefik.io, traefik.containo.us]
  resources: [traefikservices]
  verbs: [get, update]
- apiGroups: [getambassador.io, x.getambassador.io]
  resources: [mappings, ambassadormappings]
  verbs: [get, list, create, update, delete]
- apiGroups: [apisix.apache.org]
  resources: [apisixroutes]
  verbs: [get, list, create, update, delete]
- apiGroups: [appmesh.k8s.aws]
  resources: [virtualservices]
  verbs: [get]
- apiGroups: [appmesh.k8s.aws]
  resources: [virtualrouters, virtualnodes]
  verbs: [get, update]
- apiGroups: [split.smi-spec.io]
  resources: [trafficsplits]
  verbs: [get, list, create, patch, delete]
- apiGroups: [networking.istio.io]
  resources: [virtualservices]
  verbs: [get, update]
- apiGroups: [networking.istio.io]
  resources: [destinationrules]
  verbs: [get, list, update]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes, grpcroutes, tcproutes, tlsroutes]
  verbs: [get, list, update]
# Events: decision events are written, and the notifier finds those owing
# notifications (a label selector), reads and marks them (internal/notify).
- apiGroups: [""]
  resources: [events]
  verbs: [create, get, list, patch]
{{- end -}}

{{/* The leader-election Lease in the controller's namespace. */}}
{{- define "aviary.controller.leaseRules" -}}
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update]
{{- end -}}

{{/* The dashboard's rules: read Rollouts and what they own, and (unless
readonly) patch and update Rollouts for its actions. */}}
{{- define "aviary.dashboard.rules" -}}
- apiGroups: [argoproj.io]
  resources: [rollouts, analysisruns, analysistemplates, clusteranalysistemplates, experiments]
  verbs: [get, list, watch]
{{- if not .Values.dashboard.readonly }}
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [patch, update]
- apiGroups: [argoproj.io]
  resources: [rollouts/status]
  verbs: [patch]
{{- end }}
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods, events]
  verbs: [get, list, watch]
{{- end -}}
