package podset

// Action is one thing the shell must do to a pod. The concrete types are
// CreatePod, DeletePod, SetServing, UpdateInPlace and RestartInPlace; a plan
// holds at most one action per pod.
type Action interface {
	isAction()
}

// CreatePod creates the pod of slot Index (named `<set>-<Index>`) from the
// template of Revision. The shell creates it with the serving readiness gate
// and without the serving condition, so it enters traffic only when a later
// plan sets it serving.
type CreatePod struct {
	Index    int
	Revision string
}

// DeletePod deletes a pod.
type DeletePod struct {
	Name    string
	Reason  DeleteReason
	Handoff Handoff
}

// SetServing sets the pod's apps.cafe.dev/serving condition.
type SetServing struct {
	Name    string
	Serving bool
	Reason  ServingReason
}

// UpdateInPlace patches a pod to Revision (see PodPatchForInPlace). The shell
// must report the pod's InPlaceInProgress until its containers run the new
// images.
type UpdateInPlace struct {
	Name     string
	Revision string
	Handoff  Handoff
}

// RestartInPlace restarts a pod's containers without replacing the pod, and
// records Token as the handled restart token. The shell must report the
// pod's InPlaceInProgress until every container has restarted.
type RestartInPlace struct {
	Name    string
	Token   string
	Handoff Handoff
}

func (CreatePod) isAction()      {}
func (DeletePod) isAction()      {}
func (SetServing) isAction()     {}
func (UpdateInPlace) isAction()  {}
func (RestartInPlace) isAction() {}

// DeleteReason says why a pod is deleted.
type DeleteReason string

const (
	// DeleteScaleIn removes a pod whose slot is no longer wanted.
	DeleteScaleIn DeleteReason = "ScaleIn"
	// DeleteRecreate is the first half of an update by recreation; a later
	// plan creates the pod again at the update revision.
	DeleteRecreate DeleteReason = "Recreate"
	// DeleteFailed removes a pod that ended (Failed or Succeeded) so that its
	// slot gets a new pod.
	DeleteFailed DeleteReason = "Failed"
	// DeleteStopped removes the pod of a slot the user stopped.
	DeleteStopped DeleteReason = "Stopped"
)

// ServingReason says why a pod enters or leaves traffic.
type ServingReason string

const (
	// ServingReady puts a pod whose containers have been ready for
	// minReadySeconds into traffic.
	ServingReady ServingReason = "Ready"
	// ServingUpdate takes a pod out of traffic to update it.
	ServingUpdate ServingReason = "Update"
	// ServingRestart takes a pod out of traffic to restart it.
	ServingRestart ServingReason = "Restart"
	// ServingScaleIn takes a pod out of traffic before scale-in deletes it.
	ServingScaleIn ServingReason = "ScaleIn"
	// ServingStopped takes a pod out of traffic before stopping its slot.
	ServingStopped ServingReason = "Stopped"
)

// Handoff says how a pod's traffic hand-off ended before it was changed or
// deleted, so the shell can report a hand-off that did not fully drain.
type Handoff string

const (
	// HandoffNone: the pod had ended and carried no traffic.
	HandoffNone Handoff = ""
	// HandoffDrained: the pod left every endpoint and drained for the full
	// drain time.
	HandoffDrained Handoff = "Drained"
	// HandoffCannotLeaveEndpoints: a Service keeps the pod in its endpoints
	// whatever its readiness; the change went ahead after the drain time.
	HandoffCannotLeaveEndpoints Handoff = "CannotLeaveEndpoints"
	// HandoffMaxWaitElapsed: the pod was still in some endpoints when the
	// maximum drain wait ran out; the change went ahead anyway.
	HandoffMaxWaitElapsed Handoff = "MaxWaitElapsed"
)
