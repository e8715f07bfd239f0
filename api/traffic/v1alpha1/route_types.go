package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RouteService is the Service whose endpoints in each unit serve a Route.
type RouteService struct {
	// name of a Service in the Route's namespace.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// port is the Service port.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
}

// RouteTimeouts bound a request's phases. Zero or absent means the router's
// defaults.
// +kubebuilder:validation:XValidation:rule="!has(self.request) || duration(self.request) > duration('0s')",message="spec.timeouts.request must be positive"
// +kubebuilder:validation:XValidation:rule="!has(self.responseHeader) || duration(self.responseHeader) > duration('0s')",message="spec.timeouts.responseHeader must be positive"
// +kubebuilder:validation:XValidation:rule="!has(self.request) || !has(self.responseHeader) || duration(self.responseHeader) <= duration(self.request)",message="spec.timeouts.responseHeader must not exceed spec.timeouts.request"
type RouteTimeouts struct {
	// request bounds the whole exchange, retries and response body
	// included.
	// +optional
	Request *metav1.Duration `json:"request,omitempty"`

	// responseHeader bounds each attempt from sending the request until
	// the upstream's response headers arrive.
	// +optional
	ResponseHeader *metav1.Duration `json:"responseHeader,omitempty"`
}

// RouteRetries says how often a failed attempt is tried again on another
// endpoint. Only safe attempts are retried: idempotent requests without a
// body, and any request whose connection failed before the upstream read
// a byte of it.
type RouteRetries struct {
	// attempts is the number of retries after the first attempt.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=5
	// +kubebuilder:default=1
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
}

// RouteSpec binds a host and path prefix to a Service, sharded by a
// ShardMap.
type RouteSpec struct {
	// host matches the request's Host without port, case-insensitively;
	// "*" matches any host.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^(\*|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?)$`
	Host string `json:"host"`

	// pathPrefix matches whole path segments: "/api" matches "/api" and
	// "/api/x" but not "/apix". The longest matching prefix wins.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	// +kubebuilder:default="/"
	// +optional
	PathPrefix string `json:"pathPrefix,omitempty"`

	// service serves the route in each unit.
	Service RouteService `json:"service"`

	// shardMap names the ShardMap in the Route's namespace that shards
	// this route's traffic.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:MinLength=1
	ShardMap string `json:"shardMap"`

	// timeouts bound the request's phases.
	// +optional
	Timeouts *RouteTimeouts `json:"timeouts,omitempty"`

	// retries says how failed attempts are retried.
	// +optional
	Retries *RouteRetries `json:"retries,omitempty"`
}

// Route condition types and reasons.
const (
	// RouteAccepted is True when the route is programmed into routers;
	// False with ReasonConflict when another Route has the same host and
	// pathPrefix, or ReasonShardMapNotFound.
	RouteAccepted = "Accepted"

	ReasonAccepted         = "Accepted"
	ReasonConflict         = "Conflict"
	ReasonShardMapNotFound = "ShardMapNotFound"
)

// RouteStatus is the controller's view of a Route.
type RouteStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions include Accepted.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Route sends a host and path prefix to a Service in the unit that owns the
// request's shard.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.host`
// +kubebuilder:printcolumn:name="Prefix",type=string,JSONPath=`.spec.pathPrefix`
// +kubebuilder:printcolumn:name="ShardMap",type=string,JSONPath=`.spec.shardMap`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Route struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RouteSpec   `json:"spec"`
	Status RouteStatus `json:"status,omitempty"`
}

// RouteList is a list of Routes.
// +kubebuilder:object:root=true
type RouteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Route `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Route{}, &RouteList{})
}
