package release

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Output is Plan's decision.
type Output struct {
	// Status is the planner's part of the new status; store it and pass it
	// back as the next Input.Previous.
	Status Status
	// Units are the specs of the units' InPlaceSets, in spec order.
	Units []UnitPlan
	// Conditions are the release's conditions, each type every time, with
	// Type, Status, Reason and Message set; the shell adds
	// observedGeneration and lets meta.SetStatusCondition keep the
	// transition times.
	Conditions []metav1.Condition
	// Events describe what changed since Input.Previous, in order. Emit them
	// once the new status is stored. A batch's start and completion are not
	// among them: BatchEvents derives those from the stored history.
	Events []Event
	// RecheckAfter is when a time-based step (a progress deadline, a pending
	// pod's reschedule delay) falls due; zero when none is running.
	RecheckAfter time.Duration
}

// UnitPlan is the spec of one unit's InPlaceSet.
type UnitPlan struct {
	Name string
	// Revision is the revision whose template the InPlaceSet runs.
	Revision  string
	Replicas  int32
	Partition int32
	// MaxUnavailable is the InPlaceSet's maxUnavailable: the strategy's
	// maxUnavailablePerUnit resolved against Replicas, at least 1 and, for a
	// unit of two or more, at most Replicas-1, so such a unit always keeps a
	// serving pod.
	MaxUnavailable int32
	// AllowEmpty is the InPlaceSet's allowEmpty.
	AllowEmpty bool
	// Paused is the InPlaceSet's paused: the user paused the release, so no
	// further pod starts to change, also in the batch in progress. An abort
	// is not held by it: the pods it sends back still go.
	Paused bool
}

// Event is a Kubernetes event to record on the CafeDeployment.
type Event struct {
	// Type is EventNormal or EventWarning.
	Type    string
	Reason  string
	Message string
	// Key, when set, names the fact the event reports (BatchEvents sets
	// it): send the event under a name made from it, so that sending it
	// again creates nothing new.
	Key string
}

// Event types, as corev1.EventTypeNormal and corev1.EventTypeWarning.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Condition types of a CafeDeployment that Plan sets. They match the
// condition types of the apps.cafe.dev API.
const (
	ConditionAvailable                = "Available"
	ConditionProgressing              = "Progressing"
	ConditionReleasePaused            = "ReleasePaused"
	ConditionWaitingForConfirmation   = "WaitingForConfirmation"
	ConditionProgressDeadlineExceeded = "ProgressDeadlineExceeded"
)

// Reasons of conditions and events.
const (
	ReasonUnitsAvailable           = "UnitsAvailable"
	ReasonUnitBelowFloor           = "UnitBelowFloor"
	ReasonReleaseStarted           = "ReleaseStarted"
	ReasonScaleOutStarted          = "ScaleOutStarted"
	ReasonBatchStarted             = "BatchStarted"
	ReasonBatchInProgress          = "BatchInProgress"
	ReasonBatchCompleted           = "BatchCompleted"
	ReasonReleaseCompleted         = "ReleaseCompleted"
	ReasonAwaitingConfirmation     = "AwaitingConfirmation"
	ReasonNoConfirmationNeeded     = "NoConfirmationNeeded"
	ReasonPaused                   = "Paused"
	ReasonNotPaused                = "NotPaused"
	ReasonFailureThresholdReached  = "FailureThresholdReached"
	ReasonUnitWouldBeEmpty         = "UnitWouldBeEmpty"
	ReasonReleaseAborted           = "ReleaseAborted"
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	ReasonWithinDeadline           = "WithinDeadline"
	ReasonReleasePaused            = "ReleasePaused"
	ReasonReleaseResumed           = "ReleaseResumed"
	ReasonQuotaMoved               = "QuotaMoved"
	ReasonQuotaReturned            = "QuotaReturned"
)
