// Package v1alpha1 contains the apps.cafe.dev/v1alpha1 API: CafeDeployment,
// the unit-aware release workload, and InPlaceSet, the per-unit pod set it drives.
// +kubebuilder:object:generate=true
// +groupName=apps.cafe.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "apps.cafe.dev", Version: "v1alpha1"}

	// SchemeBuilder adds this API's kinds to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
