package failover

// What the failover controller writes besides a router's reads: the
// decisions, in the status of the shard maps and routes it serves, and its
// Lease for the leader election (a namespaced Role; the Helm chart grants it
// in the lease namespace). hack/generate.sh makes
// config/rbac/router-failover/role.yaml from these markers.
//
// +kubebuilder:rbac:groups=traffic.cafe.dev,resources=shardmaps/status;routes/status,verbs=update;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch,namespace=cafe-system
