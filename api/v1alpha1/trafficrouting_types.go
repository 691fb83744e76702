package v1alpha1

import "encoding/json"

// RolloutTrafficRouting configures the traffic router(s) a canary uses.
type RolloutTrafficRouting struct {
	// Istio adjusts VirtualService weights (and DestinationRule subsets).
	Istio *IstioTrafficRouting `json:"istio,omitempty"`
	// Nginx manages a canary copy of an NGINX Ingress.
	Nginx *NginxTrafficRouting `json:"nginx,omitempty"`
	// ALB writes AWS Load Balancer Controller action annotations.
	ALB *ALBTrafficRouting `json:"alb,omitempty"`
	// SMI manages an SMI TrafficSplit.
	SMI *SMITrafficRouting `json:"smi,omitempty"`
	// Ambassador manages canary copies of Ambassador Mappings.
	Ambassador *AmbassadorTrafficRouting `json:"ambassador,omitempty"`
	// AppMesh adjusts AWS App Mesh route weights.
	AppMesh *AppMeshTrafficRouting `json:"appMesh,omitempty"`
	// Traefik adjusts a weighted TraefikService.
	Traefik *TraefikTrafficRouting `json:"traefik,omitempty"`
	// ManagedRoutes lists the routes that header and mirror steps may create,
	// highest precedence first.
	ManagedRoutes []MangedRoutes `json:"managedRoutes,omitempty"`
	// Apisix adjusts an ApisixRoute.
	Apisix *ApisixTrafficRouting `json:"apisix,omitempty"`
	// Plugins maps a traffic-router plugin name to its configuration.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Plugins map[string]json.RawMessage `json:"plugins,omitempty"`
	// MaxTrafficWeight is the total weight that setWeight is relative to
	// (default 100; honoured by nginx and plugins).
	MaxTrafficWeight *int32 `json:"maxTrafficWeight,omitempty"`
}

// MangedRoutes names a route the controller may manage. (The spelling
// follows the Argo Rollouts Go API.)
type MangedRoutes struct {
	// Name of the route.
	Name string `json:"name"`
}

// TraefikTrafficRouting names the weighted TraefikService to adjust.
type TraefikTrafficRouting struct {
	// WeightedTraefikServiceName is the TraefikService with the two weights.
	WeightedTraefikServiceName string `json:"weightedTraefikServiceName"`
}

// ApisixTrafficRouting names the ApisixRoute to adjust.
type ApisixTrafficRouting struct {
	// Route is the ApisixRoute and its rules.
	Route *ApisixRoute `json:"route,omitempty"`
}

// ApisixRoute is an ApisixRoute and the HTTP rules to change in it.
type ApisixRoute struct {
	// Name of the ApisixRoute.
	Name string `json:"name"`
	// Rules are the HTTP rule names to change.
	Rules []string `json:"rules,omitempty"`
}

// AmbassadorTrafficRouting names the Ambassador Mappings to copy.
type AmbassadorTrafficRouting struct {
	// Mappings are the names of the stable Mappings.
	Mappings []string `json:"mappings"`
}

// SMITrafficRouting configures the SMI TrafficSplit.
type SMITrafficRouting struct {
	// RootService is the service clients call.
	// +optional
	RootService string `json:"rootService,omitempty"`
	// TrafficSplitName is the TrafficSplit to manage.
	// +optional
	TrafficSplitName string `json:"trafficSplitName,omitempty"`
}

// NginxTrafficRouting configures the NGINX Ingress canary.
type NginxTrafficRouting struct {
	// AnnotationPrefix of the ingress controller (default
	// nginx.ingress.kubernetes.io).
	// +optional
	AnnotationPrefix string `json:"annotationPrefix,omitempty"`
	// StableIngress is the Ingress to copy for the canary.
	StableIngress string `json:"stableIngress,omitempty"`
	// AdditionalIngressAnnotations are set on the canary Ingress, prefixed.
	// +optional
	AdditionalIngressAnnotations map[string]string `json:"additionalIngressAnnotations,omitempty"`
	// StableIngresses lists several stable Ingresses instead of one.
	// +optional
	StableIngresses []string `json:"stableIngresses,omitempty"`
	// CanaryIngressAnnotations are set on the canary Ingress as given.
	// +optional
	CanaryIngressAnnotations map[string]string `json:"canaryIngressAnnotations,omitempty"`
}

// ALBTrafficRouting configures AWS ALB weighted target groups.
type ALBTrafficRouting struct {
	// Ingress is the ALB Ingress to annotate.
	Ingress string `json:"ingress,omitempty"`
	// ServicePort is the service port the action forwards to.
	ServicePort int32 `json:"servicePort"`
	// RootService is the service in the Ingress that gets the action.
	RootService string `json:"rootService,omitempty"`
	// AnnotationPrefix of the load balancer controller (default
	// alb.ingress.kubernetes.io).
	// +optional
	AnnotationPrefix string `json:"annotationPrefix,omitempty"`
	// StickinessConfig sets target-group stickiness.
	// +optional
	StickinessConfig *StickinessConfig `json:"stickinessConfig,omitempty"`
	// Ingresses lists several ALB Ingresses instead of one.
	// +optional
	Ingresses []string `json:"ingresses,omitempty"`
}

// StickinessConfig is ALB target-group stickiness.
type StickinessConfig struct {
	// Enabled turns stickiness on.
	Enabled bool `json:"enabled"`
	// DurationSeconds is the stickiness duration.
	DurationSeconds int64 `json:"durationSeconds"`
}

// IstioTrafficRouting names the Istio objects to adjust.
type IstioTrafficRouting struct {
	// VirtualService is a single VirtualService to adjust.
	VirtualService *IstioVirtualService `json:"virtualService,omitempty"`
	// DestinationRule gets its subsets pinned to the ReplicaSet hashes.
	DestinationRule *IstioDestinationRule `json:"destinationRule,omitempty"`
	// VirtualServices lists several VirtualServices instead of one.
	VirtualServices []IstioVirtualService `json:"virtualServices,omitempty"`
}

// IstioVirtualService is a VirtualService and the routes to change in it.
type IstioVirtualService struct {
	// Name of the VirtualService (optionally namespace-qualified).
	Name string `json:"name"`
	// Routes are HTTP route names; empty means its only HTTP route.
	Routes []string `json:"routes,omitempty"`
	// TLSRoutes select TLS routes by port and SNI hosts.
	TLSRoutes []TLSRoute `json:"tlsRoutes,omitempty"`
	// TCPRoutes select TCP routes by port.
	TCPRoutes []TCPRoute `json:"tcpRoutes,omitempty"`
}

// TLSRoute selects a TLS route of a VirtualService.
type TLSRoute struct {
	// Port of the route.
	Port int64 `json:"port,omitempty"`
	// SNIHosts of the route.
	SNIHosts []string `json:"sniHosts,omitempty"`
}

// TCPRoute selects a TCP route of a VirtualService.
type TCPRoute struct {
	// Port of the route.
	Port int64 `json:"port,omitempty"`
}

// IstioDestinationRule names a DestinationRule and its subsets.
type IstioDestinationRule struct {
	// Name of the DestinationRule.
	Name string `json:"name"`
	// CanarySubsetName is the subset pinned to the canary hash.
	CanarySubsetName string `json:"canarySubsetName"`
	// StableSubsetName is the subset pinned to the stable hash.
	StableSubsetName string `json:"stableSubsetName"`
	// AdditionalSubsetNames are further subsets (e.g. experiments).
	AdditionalSubsetNames []string `json:"additionalSubsetNames,omitempty"`
}

// AppMeshTrafficRouting names the App Mesh objects to adjust.
type AppMeshTrafficRouting struct {
	// VirtualService whose router routes are changed.
	VirtualService *AppMeshVirtualService `json:"virtualService,omitempty"`
	// VirtualNodeGroup are the canary and stable virtual nodes.
	VirtualNodeGroup *AppMeshVirtualNodeGroup `json:"virtualNodeGroup,omitempty"`
}

// AppMeshVirtualService is an App Mesh virtual service and its routes.
type AppMeshVirtualService struct {
	// Name of the virtual service.
	Name string `json:"name"`
	// Routes to change; empty means its only route.
	Routes []string `json:"routes,omitempty"`
}

// AppMeshVirtualNodeGroup is the pair of virtual nodes to pin to hashes.
type AppMeshVirtualNodeGroup struct {
	// CanaryVirtualNodeRef is pinned to the canary hash.
	CanaryVirtualNodeRef *AppMeshVirtualNodeReference `json:"canaryVirtualNodeRef"`
	// StableVirtualNodeRef is pinned to the stable hash.
	StableVirtualNodeRef *AppMeshVirtualNodeReference `json:"stableVirtualNodeRef"`
}

// AppMeshVirtualNodeReference names an App Mesh VirtualNode.
type AppMeshVirtualNodeReference struct {
	// Name of the VirtualNode.
	Name string `json:"name"`
}
