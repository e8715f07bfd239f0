package cli

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// podArg reads the pod argument of restart, stop and start: pod/NAME (also
// pods/ and po/) or a bare NAME.
func podArg(command, arg string) (string, error) {
	kind, name, found := strings.Cut(arg, "/")
	if !found {
		return arg, nil
	}
	switch kind {
	case "pod", "pods", "po":
		if name != "" {
			return name, nil
		}
	}
	return "", fmt.Errorf("%s works on pods of CAFE workloads: kubectl cafe %s pod/NAME", command, command)
}

// slotOf names a pod's InPlaceSet and slot index: from the pod when it
// exists (its controller and index label), else from its stable name
// `<set>-<index>`.
func slotOf(name string, pod *corev1.Pod) (set string, index int, err error) {
	if pod != nil {
		owner := metav1.GetControllerOf(pod)
		if owner == nil || owner.Kind != "InPlaceSet" || owner.APIVersion != appsv1alpha1.GroupVersion.String() {
			return "", 0, fmt.Errorf("pod %s is not run by an InPlaceSet: CAFE stops, starts and restarts only its own pods", name)
		}
		index, err := strconv.Atoi(pod.Labels[appsv1alpha1.InstanceIndexLabel])
		if err != nil {
			return "", 0, fmt.Errorf("pod %s has no slot index (label %s)", name, appsv1alpha1.InstanceIndexLabel)
		}
		return owner.Name, index, nil
	}
	i := strings.LastIndex(name, "-")
	if i <= 0 {
		return "", 0, fmt.Errorf("%s is not a CAFE pod name (<inplaceset>-<index>)", name)
	}
	index, err = strconv.Atoi(name[i+1:])
	if err != nil || index < 0 || strconv.Itoa(index) != name[i+1:] {
		return "", 0, fmt.Errorf("%s is not a CAFE pod name (<inplaceset>-<index>)", name)
	}
	return name[:i], index, nil
}

// withSlot returns the stopped-slots annotation value with index added
// (stop) or removed (start), sorted, and whether it changed. An empty list
// is returned as "", for the caller to remove the annotation.
func withSlot(stopped []int, index int, stop bool) (string, bool) {
	set := map[int]bool{}
	for _, i := range stopped {
		set[i] = true
	}
	if set[index] == stop {
		return "", false
	}
	if stop {
		set[index] = true
	} else {
		delete(set, index)
	}
	var list []int
	for i := range set {
		list = append(list, i)
	}
	sort.Ints(list)
	parts := make([]string, len(list))
	for k, i := range list {
		parts[k] = strconv.Itoa(i)
	}
	return strings.Join(parts, ","), true
}
