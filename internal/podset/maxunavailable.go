package podset

import (
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ResolveMaxUnavailable turns spec.maxUnavailable into a pod count: a count
// as is, a percentage of replicas rounded down, and never less than 1,
// because an InPlaceSet has no surge and a budget of 0 would block every
// update. A nil value means the API default, 1.
func ResolveMaxUnavailable(value *intstr.IntOrString, replicas int) (int, error) {
	if value == nil {
		return 1, nil
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(value, replicas, false)
	if err != nil {
		return 0, err
	}
	return max(n, 1), nil
}
