package v1alpha1

// ReleaseRevisionLabel holds, on an InPlaceSet's template and so on every pod
// of a CafeDeployment, the name of the CafeDeployment's ControllerRevision the
// pod runs. It lets the CafeDeployment count, across units, how many pods a
// release has moved, whatever the unit-specific InPlaceSet revisions are.
const ReleaseRevisionLabel = "apps.cafe.dev/release-revision"

// ConfirmedByAnnotation names who wrote the latest spec.release change
// (confirm, abort, immediate). An admission policy checks that it equals the
// requesting user, so it can be trusted; the controller copies it into the
// release's batch records.
const ConfirmedByAnnotation = "apps.cafe.dev/confirmed-by"

// ChangeCauseAnnotation, on a CafeDeployment, says why its template changed;
// it is kept with the revision it produced (as kubectl rollout history shows
// for Deployments).
const ChangeCauseAnnotation = "kubernetes.io/change-cause"
