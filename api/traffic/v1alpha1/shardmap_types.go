package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ShardKeySource says where in a request the shard key lives.
// +kubebuilder:validation:Enum=Header;Cookie;Query;PathSegment
type ShardKeySource string

// The places a shard key can be read from.
const (
	ShardKeyFromHeader      ShardKeySource = "Header"
	ShardKeyFromCookie      ShardKeySource = "Cookie"
	ShardKeyFromQuery       ShardKeySource = "Query"
	ShardKeyFromPathSegment ShardKeySource = "PathSegment"
)

// ShardKeyDigits selects count decimal digits ending offset characters
// before the end of the key: offset 0, count 2 reads "56" from "U123456".
// The shard is the digits' value modulo spec.shards.
type ShardKeyDigits struct {
	// offset is how many trailing characters to skip.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	// +optional
	Offset int32 `json:"offset,omitempty"`

	// count is how many digits to read.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=9
	Count int32 `json:"count"`
}

// ShardKey says how to find a request's shard key and map it to a shard.
// +kubebuilder:validation:XValidation:rule="(has(self.hash) && self.hash) != has(self.digits)",message="spec.key: exactly one of spec.key.digits or spec.key.hash must be set"
// +kubebuilder:validation:XValidation:rule="!(self.source in ['Cookie', 'Query']) || (has(self.name) && size(self.name) > 0)",message="spec.key.name is required when spec.key.source is Cookie or Query"
// +kubebuilder:validation:XValidation:rule="(self.source == 'PathSegment') == has(self.pathSegment)",message="spec.key.pathSegment is required for, and only allowed with, spec.key.source PathSegment"
type ShardKey struct {
	// source is where the key is read from.
	// +kubebuilder:default=Header
	// +optional
	Source ShardKeySource `json:"source,omitempty"`

	// name is the header, cookie or query parameter holding the key. A
	// Header key without a name reads X-Cafe-Uid.
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[!#$%&'*+.^_|~0-9A-Za-z-]+$`
	// +optional
	Name string `json:"name,omitempty"`

	// pathSegment is the zero-based index of the path segment holding the
	// key: 1 reads "42" from "/users/42/cards".
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=63
	// +optional
	PathSegment *int32 `json:"pathSegment,omitempty"`

	// digits reads the shard from digits inside the key, the usual layout
	// where a user ID embeds its shard.
	// +optional
	Digits *ShardKeyDigits `json:"digits,omitempty"`

	// hash maps the key with 32-bit FNV-1a modulo spec.shards, for keys
	// that embed no shard digits.
	// +optional
	Hash bool `json:"hash,omitempty"`
}

// MissingKeyAction says what the router does with a request that has no
// shard key.
// +kubebuilder:validation:Enum=Reject;DefaultUnit
type MissingKeyAction string

// The answers to a request without a shard key.
const (
	// MissingKeyReject answers 400.
	MissingKeyReject MissingKeyAction = "Reject"
	// MissingKeyDefaultUnit routes to spec.onMissingKey.unit.
	MissingKeyDefaultUnit MissingKeyAction = "DefaultUnit"
)

// MissingKeyPolicy applies to absent keys only: a malformed key is always
// rejected, because routing it anywhere could split one user's data.
// +kubebuilder:validation:XValidation:rule="(self.action == 'DefaultUnit') == (has(self.unit) && size(self.unit) > 0)",message="spec.onMissingKey.unit is required for, and only allowed with, action DefaultUnit"
type MissingKeyPolicy struct {
	// action is Reject (400) or DefaultUnit.
	// +kubebuilder:default=Reject
	// +optional
	Action MissingKeyAction `json:"action,omitempty"`

	// unit receives keyless requests when action is DefaultUnit; failover
	// applies to it like to any unit.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Unit string `json:"unit,omitempty"`
}

// UnitState is a unit's health as the control plane sees it.
// +kubebuilder:validation:Enum=Active;Draining;Down
type UnitState string

// Unit states.
const (
	// UnitActive serves its own shards.
	UnitActive UnitState = "Active"
	// UnitDraining sends new requests for its shards to failoverTo, and
	// keeps serving them only when no failover target can.
	UnitDraining UnitState = "Draining"
	// UnitDown never serves; its shards go to failoverTo.
	UnitDown UnitState = "Down"
)

// ShardRange is an inclusive range of shards.
// +kubebuilder:validation:XValidation:rule="self.from <= self.to",message="spec.units[].ranges[]: from must not exceed to"
type ShardRange struct {
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=9999
	From int32 `json:"from"`

	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=9999
	To int32 `json:"to"`
}

// ShardUnit is one data-center unit and the shards it owns while healthy.
// +kubebuilder:validation:XValidation:rule="!has(self.failoverTo) || self.failoverTo != self.name",message="spec.units[].failoverTo must name another unit, not the unit itself"
type ShardUnit struct {
	// name identifies the unit; routers are configured with their unit's
	// name.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// ranges are the shards the unit owns, keyed by their first shard. A
	// unit without ranges is a pure standby.
	// +listType=map
	// +listMapKey=from
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Ranges []ShardRange `json:"ranges,omitempty"`

	// state is Active, Draining or Down.
	// +kubebuilder:default=Active
	// +optional
	State UnitState `json:"state,omitempty"`

	// failoverTo names the unit that takes this unit's shards when it is
	// Down or Draining. Failover follows at most two hops (this unit's
	// target, then that target's target) and never lands on a Down unit.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	FailoverTo string `json:"failoverTo,omitempty"`

	// routerAddress is host:port of this unit's router, where other units'
	// routers forward requests for this unit's shards.
	// +kubebuilder:validation:MaxLength=261
	// +kubebuilder:validation:Pattern=`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$`
	// +optional
	RouterAddress string `json:"routerAddress,omitempty"`
}

// ShardMapSpec declares the shards and which unit owns each.
//
// The ranges must cover every shard exactly once, and the API server
// refuses a map that does not at apply. The CRD's rules check that every
// range lies in [0, shards) and that the range sizes add up to shards, which
// refuses any lone gap or lone overlap. Comparing every two ranges exceeds
// the static cost estimate of CRD rules, so the admission policy
// cafe-shardmap-ranges (config/admission/shardmap-ranges.yaml), limited only
// at runtime, refuses overlapping ranges, in one unit or across units, and
// names both; as the sizes add up, that also refuses the gap an equal
// overlap hides. Where the policy is not installed such a map is stored, and
// the controller, which compiles the map, reports it with Valid=False; the
// routers keep the last valid map.
// +kubebuilder:validation:XValidation:rule="self.units.all(u, !has(u.ranges) || u.ranges.all(r, r.to < self.shards))",message="spec.units[].ranges[].to must be less than spec.shards"
// +kubebuilder:validation:XValidation:rule="self.units.map(u, has(u.ranges) ? u.ranges.map(r, r.to - r.from + 1).sum() : 0).sum() == self.shards",message="spec.units[].ranges must add up to spec.shards shards: a shard is unowned or owned twice"
// +kubebuilder:validation:XValidation:rule="self.units.all(u, !has(u.failoverTo) || self.units.exists(v, v.name == u.failoverTo))",message="spec.units[].failoverTo must name a unit listed in spec.units"
// +kubebuilder:validation:XValidation:rule="!has(self.onMissingKey) || !has(self.onMissingKey.unit) || self.units.exists(u, u.name == self.onMissingKey.unit)",message="spec.onMissingKey.unit must name a unit listed in spec.units"
// +kubebuilder:validation:XValidation:rule="!has(self.key) || !has(self.key.digits) || self.key.digits.count >= 4 || self.shards <= [1, 10, 100, 1000][self.key.digits.count]",message="spec.key.digits.count has too few digits to reach every one of spec.shards"
type ShardMapSpec struct {
	// shards is the number of shards, numbered 0 to shards-1.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Shards int32 `json:"shards"`

	// key says how a request maps to a shard. It defaults to the last two
	// digits of header X-Cafe-Uid.
	// +kubebuilder:default={source: Header, name: X-Cafe-Uid, digits: {count: 2}}
	// +optional
	Key ShardKey `json:"key,omitempty"`

	// onMissingKey says what to do with requests without a key.
	// +kubebuilder:default={action: Reject}
	// +optional
	OnMissingKey MissingKeyPolicy `json:"onMissingKey,omitempty"`

	// units own the shards. Unit names are unique (a list map keyed by
	// name).
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Units []ShardUnit `json:"units"`
}

// ShardAssignment is one row of the effective owner table.
type ShardAssignment struct {
	// unit declares the ranges in spec.units.
	Unit string `json:"unit"`

	// ranges are the unit's declared ranges, sorted and merged.
	// +listType=atomic
	// +optional
	Ranges []ShardRange `json:"ranges,omitempty"`

	// servedBy is the unit serving these shards now, after failover; empty
	// when no unit on the failover chain can serve them.
	// +optional
	ServedBy string `json:"servedBy,omitempty"`
}

// ShardMap condition types and reasons.
const (
	// ShardMapValid is True when the spec compiles into a routing table.
	ShardMapValid = "Valid"
	// ShardMapServing is True when every shard has a unit serving it.
	ShardMapServing = "Serving"

	ReasonCompiled        = "Compiled"
	ReasonInvalid         = "Invalid"
	ReasonAllShardsServed = "AllShardsServed"
	ReasonShardsUnserved  = "ShardsUnserved"
)

// ShardMapStatus is the controller's view of a ShardMap.
type ShardMapStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// epoch increases whenever the effective owner table changes. Routers
	// stamp it on forwarded requests so a router holding an older map can
	// tell it must refresh.
	// +optional
	Epoch int64 `json:"epoch,omitempty"`

	// effective is the owner table after failover, one row per unit.
	// +listType=map
	// +listMapKey=unit
	// +optional
	Effective []ShardAssignment `json:"effective,omitempty"`

	// conditions are Valid and Serving.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ShardMap assigns user shards to data-center units and says where they go
// when a unit fails.
//
// ShardMap is namespaced: a map belongs to the application (tenant) whose
// Routes reference it by name from the same namespace, so teams can shard
// differently and RBAC on the namespace controls who may move shards.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=sm
// +kubebuilder:printcolumn:name="Shards",type=integer,JSONPath=`.spec.shards`
// +kubebuilder:printcolumn:name="Epoch",type=integer,JSONPath=`.status.epoch`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="Valid")].status`
// +kubebuilder:printcolumn:name="Serving",type=string,JSONPath=`.status.conditions[?(@.type=="Serving")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ShardMap struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ShardMapSpec   `json:"spec"`
	Status ShardMapStatus `json:"status,omitempty"`
}

// ShardMapList is a list of ShardMaps.
// +kubebuilder:object:root=true
type ShardMapList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ShardMap `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ShardMap{}, &ShardMapList{})
}
