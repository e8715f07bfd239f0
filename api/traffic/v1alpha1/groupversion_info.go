// Package v1alpha1 contains the traffic.cafe.dev/v1alpha1 API: ShardMap and
// the routes that bind hosts and paths to Services for the unit router.
// +kubebuilder:object:generate=true
// +groupName=traffic.cafe.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "traffic.cafe.dev", Version: "v1alpha1"}

	// SchemeBuilder adds this API's kinds to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
