package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ReleaseType is how a release begins.
// +kubebuilder:validation:Enum=Beta;Batch
type ReleaseType string

const (
	// ReleaseBeta first releases one pod in every unit (batch 0) and waits
	// for a confirmation, then goes on in batches.
	ReleaseBeta ReleaseType = "Beta"
	// ReleaseBatch goes in batches from the start.
	ReleaseBatch ReleaseType = "Batch"
)

// CafeDeploymentSpec is the desired state of a CafeDeployment.
// +kubebuilder:validation:XValidation:rule="has(self.selector.matchLabels) || has(self.selector.matchExpressions)",message="spec.selector must not be empty: an empty selector would adopt every pod in the namespace",fieldPath=".selector"
// The schema checks that every key of selector.matchLabels is a template
// label; the admission policy cafe-selector-matches-template checks the values
// and selector.matchExpressions as well (a schema rule comparing values would
// exceed the CEL cost budget: a label selector's schema bounds no map size).
// +kubebuilder:validation:XValidation:rule="!has(self.selector.matchLabels) || (has(self.template.metadata) && has(self.template.metadata.labels) && self.selector.matchLabels.all(k, k in self.template.metadata.labels))",message="every key of spec.selector.matchLabels must be a label in spec.template.metadata.labels",fieldPath=".selector.matchLabels"
// +kubebuilder:validation:XValidation:rule="!has(self.template.spec.restartPolicy) || self.template.spec.restartPolicy == 'Always'",message="spec.template.spec.restartPolicy must be Always",fieldPath=".template.spec.restartPolicy"
// Unit quotas are checked against replicas only when they are written (on
// create, or when spec.topology.units changes), never when only replicas
// changes: an HPA or `kubectl scale` may go below the quotas, which then
// shrink in proportion.
// +kubebuilder:validation:XValidation:rule="(oldSelf.hasValue() && oldSelf.value().topology.units == self.topology.units) || 100 * self.topology.units.map(u, has(u.replicas) && type(u.replicas) == int, int(u.replicas)).sum() + self.replicas * self.topology.units.map(u, has(u.replicas) && type(u.replicas) == string, int(u.replicas.substring(0, u.replicas.size() - 1))).sum() <= 100 * self.replicas",optionalOldSelf=true,message="the quotas in spec.topology.units add up to more than spec.replicas",fieldPath=".topology.units"
type CafeDeploymentSpec struct {
	// replicas is the number of pods over all units. It is the scale
	// subresource's spec path, so `kubectl scale` and an HPA can set it.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// selector selects the workload's pods. It must match
	// template.metadata.labels and is immutable, like a Deployment's.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.selector is immutable"
	Selector *metav1.LabelSelector `json:"selector"`

	// template is the pod template. Changing it makes a new revision and
	// starts a release.
	// +required
	Template corev1.PodTemplateSpec `json:"template"`

	// volumeClaimTemplates give every pod slot claims of its own, named
	// <name>-<pod name> and mounted as the volume <name>; see the
	// InPlaceSet's. They cannot be edited once set.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.volumeClaimTemplates cannot change: existing claims keep the templates they were made from"
	VolumeClaimTemplates []VolumeClaimTemplate `json:"volumeClaimTemplates,omitempty"`

	// revisionHistoryLimit is how many old revisions are kept for rollback.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// topology says what the deployment units are and how replicas divide
	// among them.
	// +required
	Topology Topology `json:"topology"`

	// strategy says how a release proceeds.
	// +optional
	// +kubebuilder:default={}
	Strategy CafeDeploymentStrategy `json:"strategy,omitempty"`

	// release holds the user's controls over the release in progress:
	// confirm, abort, immediate. The controller never writes them.
	// +optional
	Release ReleaseControls `json:"release,omitempty"`
}

// Topology describes the deployment units.
// The sums use the three-argument map(): a filter() before map() would lose
// the length bounds of the quotas, and the API server would then estimate
// the rule too costly.
// +kubebuilder:validation:XValidation:rule="self.units.map(u, has(u.replicas) && type(u.replicas) == string, int(u.replicas.substring(0, u.replicas.size() - 1))).sum() <= 100",message="the percentages in spec.topology.units add up to more than 100%",fieldPath=".units"
type Topology struct {
	// unitLabel is the node label whose value names a node's unit, such as
	// topology.kubernetes.io/zone. Each unit's pods are pinned to the nodes
	// with that label value.
	// +optional
	// +kubebuilder:default="cafe.dev/unit"
	// +kubebuilder:validation:MaxLength=316
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	UnitLabel string `json:"unitLabel,omitempty"`

	// units are the deployment units, in order. Replicas divide among them:
	// fixed counts as written, percentages of replicas rounded down, and the
	// rest evenly over the units without a quota, the first units taking the
	// remainder.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Units []UnitSpec `json:"units"`

	// autoReschedule moves the quota of pods that cannot be scheduled to
	// units with room.
	// +optional
	AutoReschedule *AutoReschedule `json:"autoReschedule,omitempty"`
}

// UnitSpec is one deployment unit.
type UnitSpec struct {
	// name is the unit label's value on the unit's nodes. The unit's
	// InPlaceSet is named `<cafedeployment>-<name>`.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// replicas is the unit's quota: a fixed count, or a percentage of
	// spec.replicas. Unset, the unit shares what the others leave.
	// +optional
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=4
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? self.matches('^(100|[1-9]?[0-9])%$') : self >= 0",message="spec.topology.units[].replicas must be a count of at least 0 or a percentage from 0% to 100%"
	Replicas *intstr.IntOrString `json:"replicas,omitempty"`
}

// AutoReschedule moves quota away from a unit that lacks room.
type AutoReschedule struct {
	// enabled turns auto-reschedule on.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// pendingSeconds is how long a pod must have been unschedulable before
	// its quota moves to a unit with room. Moved quota is recorded in
	// status.rescheduled and comes back, one pod at a time, once the unit
	// has room again.
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	PendingSeconds *int32 `json:"pendingSeconds,omitempty"`
}

// CafeDeploymentStrategy says how a release proceeds.
// +kubebuilder:validation:XValidation:rule="!has(self.progressDeadlineSeconds) || !has(self.minReadySeconds) || self.progressDeadlineSeconds > self.minReadySeconds",message="spec.strategy.progressDeadlineSeconds must be greater than spec.strategy.minReadySeconds",fieldPath=".progressDeadlineSeconds"
type CafeDeploymentStrategy struct {
	// type is Beta (one pod in every unit first, then a confirmation, then
	// batches) or Batch (batches from the start).
	// +optional
	// +kubebuilder:default=Batch
	Type ReleaseType `json:"type,omitempty"`

	// batchSize is how many pods a batch changes or creates: a count, or a
	// percentage of spec.replicas rounded up.
	// +optional
	// +kubebuilder:default="25%"
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=4
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? self.matches('^([1-9][0-9]?|100)%$') : self >= 1",message="spec.strategy.batchSize must be at least 1 or a percentage between 1% and 100%"
	BatchSize *intstr.IntOrString `json:"batchSize,omitempty"`

	// needConfirm makes every batch after the first wait for a confirmation
	// in spec.release.confirm. The batch after a Beta batch always waits.
	// +optional
	NeedConfirm bool `json:"needConfirm,omitempty"`

	// paused freezes the release where it is: no next batch starts, and in
	// the batch in progress no further pod starts to change; a pod already
	// out of traffic for its change finishes it and goes back into traffic.
	// Lost pods are still replaced. Lifting it goes on from there.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// minReadySeconds is how long a changed pod must be ready before it
	// counts as available.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// maxUnavailablePerUnit is how many of a unit's pods may be unavailable
	// at once during a release: a count, or a percentage of the unit's
	// replicas rounded down; at least 1, and never all pods of a unit of two
	// or more.
	// +optional
	// +kubebuilder:default="25%"
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=4
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? self.matches('^([1-9][0-9]?|100)%$') : self >= 1",message="spec.strategy.maxUnavailablePerUnit must be at least 1 or a percentage between 1% and 100%"
	MaxUnavailablePerUnit *intstr.IntOrString `json:"maxUnavailablePerUnit,omitempty"`

	// allowUnitOutage lets the release change the only pod of a one-replica
	// unit, which leaves the unit without a serving pod meanwhile. Without
	// it such a unit waits, with the reason UnitWouldBeEmpty.
	// +optional
	AllowUnitOutage bool `json:"allowUnitOutage,omitempty"`

	// progressDeadlineSeconds is how long a batch may take to become
	// available before the release reports ProgressDeadlineExceeded.
	// +optional
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// failureThreshold is how many failing pods at the release's revision
	// (crash looping, or not ready long after their change) pause the release
	// with the reason FailureThresholdReached: a count, or a percentage of
	// the pods the current batch lets reach the revision, rounded up. The
	// default, 1, pauses on the first failing pod. A new confirmation of the
	// next batch resumes the release; while pods keep failing, every batch
	// waits for one.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=4
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? self.matches('^([1-9][0-9]?|100)%$') : self >= 1",message="spec.strategy.failureThreshold must be at least 1 or a percentage between 1% and 100%"
	FailureThreshold *intstr.IntOrString `json:"failureThreshold,omitempty"`

	// upgradePolicy says how pods move to a new revision: in place (same
	// pod, same IP) when possible, only in place, or always by recreation.
	// +optional
	// +kubebuilder:default=InPlaceIfPossible
	UpgradePolicy PodUpdatePolicy `json:"upgradePolicy,omitempty"`

	// trafficHandoff tunes how a pod leaves traffic before it is changed.
	// +optional
	// +kubebuilder:default={}
	TrafficHandoff TrafficHandoff `json:"trafficHandoff,omitempty"`
}

// ReleaseControls are the user's controls over the release in progress.
type ReleaseControls struct {
	// confirm approves batches of a release.
	// +optional
	Confirm *ReleaseConfirmation `json:"confirm,omitempty"`

	// abort stops the release and returns the pods it changed to the stable
	// revision (status.currentRevision) at once. Clearing it restarts the
	// release from the pods' real state.
	// +optional
	Abort bool `json:"abort,omitempty"`

	// immediateRevision releases the remaining pods of the release to this
	// revision (a ControllerRevision name, as status.updateRevision shows
	// it) in one batch, with no Beta batch and no confirmation (`kubectl
	// cafe rollback --immediate` sets it). It applies to that revision's
	// release only: the next template change is released by the strategy
	// again, whatever is left here.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ImmediateRevision string `json:"immediateRevision,omitempty"`
}

// ReleaseConfirmation approves the batches of the release to revision up to
// and including batch. status.release.batch names the batch that waits.
// A confirmation that was already in the spec when a release began (left
// from an earlier release to the same revision), or when the failure
// threshold paused it, approves nothing: the batches still to start are
// numbered above it (status.release.staleConfirmBatch), so confirming one of
// them always writes a new value.
type ReleaseConfirmation struct {
	// revision is the revision of the release (status.release.revision).
	// +required
	// +kubebuilder:validation:MinLength=1
	Revision string `json:"revision"`

	// batch is the last batch approved.
	// +required
	// +kubebuilder:validation:Minimum=0
	Batch int32 `json:"batch"`
}

// ReleasePhase is where a release stands.
// +kubebuilder:validation:Enum=Progressing;WaitingForConfirmation;Paused;Completed;Aborted;Failed
type ReleasePhase string

const (
	// ReleaseProgressing: a batch is in progress.
	ReleaseProgressing ReleasePhase = "Progressing"
	// ReleaseWaitingForConfirmation: the next batch waits for
	// spec.release.confirm.
	ReleaseWaitingForConfirmation ReleasePhase = "WaitingForConfirmation"
	// ReleasePaused: no batch starts, because of spec.strategy.paused, the
	// failure threshold, or a one-replica unit that would be left empty; the
	// ReleasePaused condition says which.
	ReleasePaused ReleasePhase = "Paused"
	// ReleaseCompleted: every pod runs the release's revision.
	ReleaseCompleted ReleasePhase = "Completed"
	// ReleaseAborted: spec.release.abort stopped the release.
	ReleaseAborted ReleasePhase = "Aborted"
	// ReleaseFailed: the current batch missed its progress deadline; the
	// release keeps waiting for it.
	ReleaseFailed ReleasePhase = "Failed"
)

// Condition types of a CafeDeployment.
const (
	// CafeDeploymentAvailable: every unit has at least its floor of
	// available pods (its replicas less its maxUnavailable).
	CafeDeploymentAvailable = "Available"
	// CafeDeploymentProgressing: a batch is in progress, or the release
	// completed; False says what holds it.
	CafeDeploymentProgressing = "Progressing"
	// CafeDeploymentReleasePaused: the release is held (spec.strategy.paused,
	// FailureThresholdReached, UnitWouldBeEmpty, ReleaseAborted).
	CafeDeploymentReleasePaused = "ReleasePaused"
	// CafeDeploymentWaitingForConfirmation: a batch waits for
	// spec.release.confirm; the message names it.
	CafeDeploymentWaitingForConfirmation = "WaitingForConfirmation"
	// CafeDeploymentProgressDeadlineExceeded: the current batch missed
	// spec.strategy.progressDeadlineSeconds; the message names it.
	CafeDeploymentProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// CafeDeploymentReplicaFailure: pods could not be created.
	CafeDeploymentReplicaFailure = "ReplicaFailure"
)

// CafeDeploymentStatus is the observed state of a CafeDeployment.
type CafeDeploymentStatus struct {
	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// replicas is the number of pods over all units. It is the scale
	// subresource's status path.
	// +optional
	Replicas int32 `json:"replicas"`

	// readyReplicas is the number of pods that are ready and in traffic.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// availableReplicas is the number of pods ready and in traffic for at
	// least minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas"`

	// updatedReplicas is the number of pods at updateRevision.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas"`

	// updatedReadyReplicas is the number of pods at updateRevision that are
	// ready and in traffic.
	// +optional
	UpdatedReadyReplicas int32 `json:"updatedReadyReplicas"`

	// currentRevision is the stable revision: the one every pod had when the
	// last release completed. Abort returns pods to it.
	// +optional
	CurrentRevision string `json:"currentRevision,omitempty"`

	// updateRevision is the revision of spec.template.
	// +optional
	UpdateRevision string `json:"updateRevision,omitempty"`

	// collisionCount counts hash collisions of revision names; it goes into
	// the hash to make the next name unique.
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty"`

	// selector is spec.selector in string form, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`

	// release is the release in progress, or the last one.
	// +optional
	Release ReleaseStatus `json:"release,omitempty"`

	// units is the progress of every unit, in spec order.
	// +optional
	// +listType=map
	// +listMapKey=name
	Units []UnitStatus `json:"units,omitempty"`

	// rescheduled is the quota that auto-reschedule has moved between units
	// and not yet given back.
	// +optional
	// +listType=atomic
	Rescheduled []QuotaMove `json:"rescheduled,omitempty"`

	// conditions describe the workload's state in the standard way.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ReleaseStatus is where a release stands.
type ReleaseStatus struct {
	// revision is the revision the release moves pods to.
	// +optional
	Revision string `json:"revision,omitempty"`

	// batch is the batch in progress or, when the release waits for a
	// confirmation (also after the failure threshold paused it) or for a
	// pause to end, the batch that waits: the one spec.release.confirm must
	// name. With a Beta strategy batch 0 is the Beta batch; other batches
	// count from 1, or from above staleConfirmBatch.
	// +optional
	Batch int32 `json:"batch"`

	// totalBatches is the number the release's last batch will have, as
	// things stand; scaling during the release can change it.
	// +optional
	TotalBatches int32 `json:"totalBatches"`

	// phase is where the release stands.
	// +optional
	Phase ReleasePhase `json:"phase,omitempty"`

	// waitingFor says in words what the release waits for.
	// +optional
	WaitingFor string `json:"waitingFor,omitempty"`

	// batchStartTime is when the current batch started, or resumed after a
	// pause; the progress deadline counts from it.
	// +optional
	BatchStartTime *metav1.Time `json:"batchStartTime,omitempty"`

	// staleConfirmBatch is spec.release.confirm.batch as it stood, for this
	// release's revision, when the release began or when the failure
	// threshold last paused it. Such a confirmation approves nothing: the
	// batches still to start are numbered above it.
	// +optional
	StaleConfirmBatch int32 `json:"staleConfirmBatch,omitempty"`

	// requestedBy names who asked for this release: whoever last named its
	// revision in spec.release.confirm before it began (kubectl cafe
	// rollback does, with batch 0, which approves no batch). The admission
	// policy cafe-release-approver ties the name to the requesting user.
	// Empty when no one did, as for a plain template change, and for a
	// scale-out.
	// +optional
	RequestedBy string `json:"requestedBy,omitempty"`

	// abortedBy names who set spec.release.abort, while the release is
	// aborted.
	// +optional
	AbortedBy string `json:"abortedBy,omitempty"`

	// batches records the batches started so far.
	// +optional
	// +listType=atomic
	Batches []BatchRecord `json:"batches,omitempty"`
}

// BatchRecord is the history of one batch.
type BatchRecord struct {
	// batch is the batch's number.
	Batch int32 `json:"batch"`

	// target is how many pods, over all units, are at the release's
	// revision once the batch is complete.
	Target int32 `json:"target"`

	// startedAt is when the batch started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// confirmedBy names who approved the batch (a confirmation, or
	// spec.release.immediateRevision); empty when it needed no approval.
	// +optional
	ConfirmedBy string `json:"confirmedBy,omitempty"`

	// confirmedAt is when the controller acted on the approval.
	// +optional
	ConfirmedAt *metav1.Time `json:"confirmedAt,omitempty"`

	// completedAt is when every unit first had its target of available pods
	// at the release's revision.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`

	// failureThresholdReachedAt is when failing pods reached
	// spec.strategy.failureThreshold during the batch.
	// +optional
	FailureThresholdReachedAt *metav1.Time `json:"failureThresholdReachedAt,omitempty"`
}

// UnitStatus is the progress of one unit.
type UnitStatus struct {
	// name is the unit's name.
	Name string `json:"name"`

	// quota is the unit's share of spec.replicas after quota moves.
	// +optional
	Quota int32 `json:"quota"`

	// target is how many of the unit's pods the release lets reach its
	// revision until the next batch starts.
	// +optional
	Target int32 `json:"target"`

	// partition is how many of the unit's pods stay at other revisions: the
	// unit's InPlaceSet runs target + partition replicas with this partition.
	// +optional
	Partition int32 `json:"partition"`

	// replicas is the number of the unit's pods.
	// +optional
	Replicas int32 `json:"replicas"`

	// readyReplicas is the number of the unit's pods ready and in traffic.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// updatedReplicas is the number of the unit's pods at updateRevision.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas"`

	// updatedReadyReplicas is the number of the unit's pods at
	// updateRevision that are ready and in traffic.
	// +optional
	UpdatedReadyReplicas int32 `json:"updatedReadyReplicas"`

	// pending is the number of the unit's pods that cannot be scheduled.
	// +optional
	Pending int32 `json:"pending"`
}

// QuotaMove is quota that auto-reschedule moved from one unit to another.
type QuotaMove struct {
	// from is the unit that gave the quota.
	From string `json:"from"`

	// to is the unit that took it.
	To string `json:"to"`

	// count is how many pods of quota are still moved.
	Count int32 `json:"count"`

	// time is when quota last moved between these units.
	Time metav1.Time `json:"time"`

	// reason is why, as a CamelCase word (Unschedulable).
	Reason string `json:"reason"`
}

// CafeDeployment runs one application over several deployment units (cells
// or zones), one InPlaceSet per unit, and releases new revisions in
// confirmable batches that every unit takes its share of.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=cafed,categories=cafe
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.updatedReplicas`
// +kubebuilder:printcolumn:name="Batch",type=integer,JSONPath=`.status.release.batch`
// +kubebuilder:printcolumn:name="Batches",type=integer,JSONPath=`.status.release.totalBatches`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.release.phase`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.updateRevision`,priority=1
// +kubebuilder:printcolumn:name="Waiting For",type=string,JSONPath=`.status.release.waitingFor`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CafeDeployment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CafeDeploymentSpec   `json:"spec,omitempty"`
	Status CafeDeploymentStatus `json:"status,omitempty"`
}

// CafeDeploymentList is a list of CafeDeployments.
// +kubebuilder:object:root=true
type CafeDeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CafeDeployment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CafeDeployment{}, &CafeDeploymentList{})
}
