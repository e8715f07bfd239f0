package v1alpha1

import corev1 "k8s.io/api/core/v1"

// Labels CAFE puts on the objects it manages. Controllers select and group by
// them, so they are part of the API: renaming one orphans running pods.
const (
	// RevisionLabel holds the revision (the ControllerRevision name) a pod was
	// created from or last updated in place to. The InPlaceSet compares it with
	// status.updateRevision to know which pods still need the release.
	RevisionLabel = "apps.cafe.dev/revision"

	// UnitLabel holds the name of the deployment unit (cell or zone) an
	// InPlaceSet and its pods belong to.
	UnitLabel = "apps.cafe.dev/unit"

	// UnitTopologyLabel names a unit where CAFE does not set UnitLabel
	// itself: on nodes (the default of a CafeDeployment's
	// spec.topology.unitLabel; the local platform and the node agent set it),
	// and on hand-labelled pods and hand-written EndpointSlices of backends
	// outside Kubernetes, which the router reads.
	UnitTopologyLabel = "cafe.dev/unit"

	// InstanceIndexLabel holds a pod's slot index inside its InPlaceSet, the
	// same number as the suffix of its stable name `<inplaceset>-<index>`.
	// It lets the controller find a slot without parsing names.
	InstanceIndexLabel = "apps.cafe.dev/instance-index"

	// CafeDeploymentLabel holds the name of the owning CafeDeployment, on its
	// InPlaceSets and on their pods, so one query finds a workload's pods
	// across all units.
	CafeDeploymentLabel = "apps.cafe.dev/cafedeployment"
)

// ServingCondition is the pod condition, listed as a readiness gate in every
// pod CAFE creates, through which CAFE moves a pod in and out of traffic.
// False holds the pod out of Service endpoints although its containers are
// ready; CAFE sets it False before it changes a pod and True once the changed
// pod has been ready for minReadySeconds. The condition's lastTransitionTime
// marks the start of a drain, so no separate "drain started" annotation exists.
const ServingCondition corev1.PodConditionType = "apps.cafe.dev/serving"

// Pod annotations through which users ask for an in-place restart, and
// through which CAFE records that it acted on the request. (Stopping a slot
// is asked on the InPlaceSet: see StoppedSlotsAnnotation.)
const (
	// RestartRequestedAnnotation asks CAFE to restart a pod's containers in
	// place (same pod, same IP) with traffic hand-off. The value is an opaque
	// token; setting a new token asks for another restart.
	RestartRequestedAnnotation = "apps.cafe.dev/restart-requested"

	// RestartHandledAnnotation records the last restart token CAFE acted on.
	// A restart is pending while it differs from RestartRequestedAnnotation.
	RestartHandledAnnotation = "apps.cafe.dev/restart-handled"
)
