package podset

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The test oracle: the rules of the set restated plainly, so that property
// tests can check Plan against them without calling Plan's own helpers.

// keptSlots are the indexes the set keeps: the lowest `replicas` of the
// indexes that hold a pod or a stop, then the smallest free ones.
func keptSlots(replicas int, stopped map[int]bool, podIndexes []int) map[int]bool {
	occupied := map[int]bool{}
	for i := range stopped {
		occupied[i] = true
	}
	for _, i := range podIndexes {
		if i >= 0 {
			occupied[i] = true
		}
	}
	var ordered []int
	for i := range occupied {
		ordered = append(ordered, i)
	}
	sort.Ints(ordered)
	kept := map[int]bool{}
	for _, i := range ordered {
		if len(kept) < replicas {
			kept[i] = true
		}
	}
	for i := 0; len(kept) < replicas; i++ {
		if !occupied[i] {
			kept[i] = true
		}
	}
	return kept
}

// liveSlots are the kept slots that are not stopped.
func liveSlots(replicas int, stopped map[int]bool, podIndexes []int) map[int]bool {
	live := map[int]bool{}
	for i := range keptSlots(replicas, stopped, podIndexes) {
		if !stopped[i] {
			live[i] = true
		}
	}
	return live
}

func isInTraffic(p *Pod) bool {
	return !p.Pending && !p.HeldOut && !p.Deleting && p.Phase == corev1.PodRunning && p.Ready && p.Serving == corev1.ConditionTrue
}

func isAvailable(p *Pod, now time.Time, minReady time.Duration) bool {
	return isInTraffic(p) && !p.InPlaceInProgress && now.Sub(p.ReadySince) >= minReady
}

// unavailableLive counts live slots without an available pod; the pod of a
// slot is the one with that index and the smallest name.
func unavailableLive(in *Input) int {
	stopped := map[int]bool{}
	for _, i := range in.StoppedIndexes {
		stopped[i] = true
	}
	owner := map[int]*Pod{}
	var indexes []int
	for i := range in.Pods {
		p := &in.Pods[i]
		indexes = append(indexes, p.Index)
		if o, ok := owner[p.Index]; !ok || p.Name < o.Name {
			owner[p.Index] = p
		}
	}
	n := 0
	for i := range liveSlots(in.Replicas, stopped, indexes) {
		if p, ok := owner[i]; !ok || !isAvailable(p, in.Now, in.MinReady) {
			n++
		}
	}
	return n
}

// actionPod names the pod an action is about, or "" for CreatePod.
func actionPod(a Action) string {
	switch a := a.(type) {
	case DeletePod:
		return a.Name
	case SetServing:
		return a.Name
	case UpdateInPlace:
		return a.Name
	case RestartInPlace:
		return a.Name
	}
	return ""
}
