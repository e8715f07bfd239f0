package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// PodUpdatePolicy says how pods move to a new revision.
// +kubebuilder:validation:Enum=InPlaceIfPossible;InPlaceOnly;Recreate
type PodUpdatePolicy string

const (
	// PodUpdateInPlaceIfPossible patches running pods when only container
	// images, labels and annotations change, and recreates them otherwise.
	PodUpdateInPlaceIfPossible PodUpdatePolicy = "InPlaceIfPossible"
	// PodUpdateInPlaceOnly patches running pods and refuses any change that
	// would need a new pod: the update waits instead, so pods keep their IPs.
	PodUpdateInPlaceOnly PodUpdatePolicy = "InPlaceOnly"
	// PodUpdateRecreate always deletes a pod and creates it again under the
	// same name.
	PodUpdateRecreate PodUpdatePolicy = "Recreate"
)

// The API server's defaults of TrafficHandoff, for objects it has not
// defaulted (built in code and never stored).
const (
	DefaultDrainSeconds   int32 = 5
	DefaultMaxWaitSeconds int32 = 60
)

// TrafficHandoff tunes how a pod leaves traffic before it is changed. Its
// numbers are pointers so that an explicit 0 survives a Go client: with a
// plain int32, omitempty would drop it and the API server would default it.
type TrafficHandoff struct {
	// drainSeconds is how long a pod stays out of traffic (its serving
	// condition False and its address gone from every Service's ready
	// endpoints) before it is changed, so that load balancers and clients that
	// watch endpoints stop sending it requests and in-flight ones finish.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	DrainSeconds *int32 `json:"drainSeconds,omitempty"`

	// maxWaitSeconds bounds the wait for a pod's address to leave endpoints,
	// counted from the moment it was taken out of traffic. A pod that some
	// Service keeps in its endpoints (publishNotReadyAddresses) would
	// otherwise block the update forever; after this time the change goes
	// ahead and the controller says so in an event.
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	MaxWaitSeconds *int32 `json:"maxWaitSeconds,omitempty"`

	// disabled changes pods without taking them out of traffic first: the
	// serving condition stays True and a pod leaves endpoints only when its
	// containers restart. Faster, but requests in flight to a changing pod
	// fail; meant for workloads that serve no traffic (workers, batch).
	// +optional
	Disabled bool `json:"disabled,omitempty"`
}

// VolumeClaimTemplate is a claim every slot of a set gets for itself.
type VolumeClaimTemplate struct {
	// name is the volume's name in the pod, and the start of each slot's
	// claim name (<name>-<pod name>).
	// +required
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// spec is each claim's spec.
	// +required
	Spec corev1.PersistentVolumeClaimSpec `json:"spec"`
}

// InPlaceSetSpec is the desired state of an InPlaceSet.
// +kubebuilder:validation:XValidation:rule="has(self.selector.matchLabels) || has(self.selector.matchExpressions)",message="selector must not be empty: an empty selector would adopt every pod in the namespace",fieldPath=".selector"
// The schema checks that every key of selector.matchLabels is a template
// label; the admission policy cafe-selector-matches-template checks the values
// and selector.matchExpressions as well (a schema rule comparing values would
// exceed the CEL cost budget: a label selector's schema bounds no map size).
// +kubebuilder:validation:XValidation:rule="!has(self.selector.matchLabels) || (has(self.template.metadata) && has(self.template.metadata.labels) && self.selector.matchLabels.all(k, k in self.template.metadata.labels))",message="every key of selector.matchLabels must be a label in template.metadata.labels",fieldPath=".selector.matchLabels"
// +kubebuilder:validation:XValidation:rule="!has(self.template.spec.restartPolicy) || self.template.spec.restartPolicy == 'Always'",message="template.spec.restartPolicy must be Always: the set replaces pods that end, it does not run them to completion",fieldPath=".template.spec.restartPolicy"
type InPlaceSetSpec struct {
	// replicas is the number of pod slots, stopped slots included: a stopped
	// slot is still a member of the set, it just runs no pod.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// partition is the number of pods that stay at status.currentRevision;
	// the other replicas - partition pods move to status.updateRevision.
	// A partition at or above replicas holds the whole set at the current
	// revision. Lowering it releases the next pods; raising it does not move
	// pods that already have the update revision back.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	Partition *int32 `json:"partition,omitempty"`

	// minReadySeconds is how long a pod's containers must be ready before
	// the pod is put (back) into traffic and counts as available.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// selector selects the set's pods. It must match template.metadata.labels
	// and is immutable, like a Deployment's.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="selector is immutable"
	Selector *metav1.LabelSelector `json:"selector"`

	// template is the pod template of the update revision.
	// +required
	Template corev1.PodTemplateSpec `json:"template"`

	// volumeClaimTemplates give every slot claims of its own, named
	// <name>-<pod name> and mounted as the volume <name>: the slot's pod
	// keeps them through in-place updates, recreations, stops and starts.
	// Like a StatefulSet's, the claims outlive the pods and the set (delete
	// them yourself), and the list cannot be edited once set.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="volumeClaimTemplates cannot change: existing claims keep the templates they were made from"
	VolumeClaimTemplates []VolumeClaimTemplate `json:"volumeClaimTemplates,omitempty"`

	// updatePolicy says how pods move to a new revision: in place (same pod,
	// same IP) when possible, only in place, or always by recreation.
	// +optional
	// +kubebuilder:default=InPlaceIfPossible
	UpdatePolicy PodUpdatePolicy `json:"updatePolicy,omitempty"`

	// maxUnavailable is how many of the set's pods may be unavailable (not
	// ready, out of traffic, or being changed) when the set starts changing
	// another pod: a count (at least 1) or a percentage of replicas, rounded
	// down but never below 1, since the set has no surge.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? self.matches('^([1-9][0-9]?|100)%$') : self >= 1",message="maxUnavailable must be a count of at least 1 or a percentage from 1% to 100%"
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// trafficHandoff tunes how a pod leaves traffic before it is changed.
	// +optional
	// +kubebuilder:default={}
	TrafficHandoff TrafficHandoff `json:"trafficHandoff,omitempty"`

	// allowEmpty lets the set take its last serving pod out of traffic, for
	// example to update the only pod of a one-replica set. Without it such a
	// change waits with the reason UnitWouldBeEmpty.
	// +optional
	AllowEmpty bool `json:"allowEmpty,omitempty"`

	// paused starts no new update: a pod already out of traffic for one
	// finishes it, and no other pod leaves traffic or changes to the update
	// revision until it is lifted. Lost pods are still replaced; restarts,
	// stops and scale-in go on. A CafeDeployment sets it while the user
	// pauses its release.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// InPlaceSetStatus is the observed state of an InPlaceSet.
type InPlaceSetStatus struct {
	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// replicas is the number of pods that exist and are not terminating.
	// +optional
	Replicas int32 `json:"replicas"`

	// readyReplicas is the number of pods that are ready and in traffic.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// availableReplicas is the number of pods ready and in traffic for at
	// least minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas"`

	// updatedReplicas is the number of pods at the update revision.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas"`

	// updatedReadyReplicas is the number of pods at the update revision that
	// are ready and in traffic.
	// +optional
	UpdatedReadyReplicas int32 `json:"updatedReadyReplicas"`

	// currentRevision is the revision the partition keeps pods at.
	// +optional
	CurrentRevision string `json:"currentRevision,omitempty"`

	// updateRevision is the revision of spec.template.
	// +optional
	UpdateRevision string `json:"updateRevision,omitempty"`

	// selector is spec.selector in string form, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`

	// stoppedIndexes are the slots the user stopped (the
	// apps.cafe.dev/stopped-slots annotation) as the controller last acted on
	// them: they run no pod and keep their index until started again.
	// +optional
	// +listType=set
	StoppedIndexes []int32 `json:"stoppedIndexes,omitempty"`

	// conditions describe the set's state in the standard way.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// InPlaceSet keeps a number of pods with stable names `<name>-<index>` and
// moves them to a new revision in place (keeping each pod and its IP) when it
// can, taking each pod out of traffic before changing it. A CafeDeployment
// owns one InPlaceSet per deployment unit and drives it through replicas,
// partition and template.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=ips,categories=cafe
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.updatedReplicas`
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.availableReplicas`
// +kubebuilder:printcolumn:name="Partition",type=integer,JSONPath=`.spec.partition`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.updateRevision`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type InPlaceSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   InPlaceSetSpec   `json:"spec,omitempty"`
	Status InPlaceSetStatus `json:"status,omitempty"`
}

// InPlaceSetList is a list of InPlaceSets.
// +kubebuilder:object:root=true
type InPlaceSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InPlaceSet `json:"items"`
}

func init() {
	SchemeBuilder.Register(&InPlaceSet{}, &InPlaceSetList{})
}
