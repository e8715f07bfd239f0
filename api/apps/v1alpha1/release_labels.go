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

// ReleaseBatchesAnnotation, on a CafeDeployment's ControllerRevision, keeps
// the batch records (JSON, as status.release.batches) of the latest release
// to that revision, so `kubectl cafe history` can show who confirmed each
// batch of every kept revision, not only of the release in progress.
const ReleaseBatchesAnnotation = "apps.cafe.dev/release-batches"
