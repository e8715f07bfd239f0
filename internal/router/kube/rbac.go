package kube

// What a router reads, in each namespace it serves; hack/generate.sh makes
// config/rbac/router/role.yaml from these markers and the Helm chart grants
// its rules.
//
// +kubebuilder:rbac:groups=traffic.cafe.dev,resources=shardmaps;routes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services;pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
