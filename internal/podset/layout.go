package podset

import "sort"

// layout is the set's slots as Plan sees them: which indexes the set keeps,
// which of them run (or should run) a pod, and which pods must go.
type layout struct {
	// live are the kept, not stopped indexes, ascending. Budgets and update
	// targets count these slots only.
	live []int
	// owner is the pod holding each index.
	owner map[int]*Pod
	// missing are live indexes without a pod, ascending.
	missing []int
	// surplus are pods to remove because their index is no longer kept, is
	// invalid or is held by another pod; highest index first.
	surplus []*Pod
	// stopped are pods whose kept slot the user stopped; highest index first.
	stopped []*Pod
	// droppedStopped are stopped indexes scale-in removed, ascending.
	droppedStopped []int
}

// newLayout keeps the lowest `replicas` of the occupied indexes (those with a
// pod or a stop) so that scale-in removes the highest first, and fills any
// shortfall with the smallest free indexes, never a stopped one.
func newLayout(replicas int, stoppedIndexes []int, pods []Pod) layout {
	l := layout{owner: map[int]*Pod{}}

	byIndex := make([]*Pod, len(pods))
	for i := range pods {
		byIndex[i] = &pods[i]
	}
	sort.Slice(byIndex, func(i, j int) bool {
		if byIndex[i].Index != byIndex[j].Index {
			return byIndex[i].Index < byIndex[j].Index
		}
		return byIndex[i].Name < byIndex[j].Name
	})
	for _, p := range byIndex {
		if _, taken := l.owner[p.Index]; taken || p.Index < 0 {
			l.surplus = append(l.surplus, p)
			continue
		}
		l.owner[p.Index] = p
	}

	stopped := map[int]bool{}
	occupied := map[int]bool{}
	for _, i := range stoppedIndexes {
		if i >= 0 {
			stopped[i] = true
			occupied[i] = true
		}
	}
	for i := range l.owner {
		occupied[i] = true
	}
	ordered := make([]int, 0, len(occupied))
	for i := range occupied {
		ordered = append(ordered, i)
	}
	sort.Ints(ordered)

	kept := ordered
	if len(ordered) > replicas {
		kept = ordered[:max(replicas, 0)]
		for _, i := range ordered[len(kept):] {
			if p, ok := l.owner[i]; ok {
				l.surplus = append(l.surplus, p)
				delete(l.owner, i)
			} else {
				l.droppedStopped = append(l.droppedStopped, i)
			}
		}
	}
	for _, i := range kept {
		p, hasPod := l.owner[i]
		switch {
		case stopped[i] && hasPod:
			l.stopped = append(l.stopped, p)
		case !stopped[i]:
			l.live = append(l.live, i)
		}
	}
	for free, short := 0, replicas-len(kept); short > 0; free++ {
		if !occupied[free] {
			l.live = append(l.live, free)
			l.missing = append(l.missing, free)
			short--
		}
	}
	sort.Ints(l.live)

	highestFirst := func(ps []*Pod) {
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].Index != ps[j].Index {
				return ps[i].Index > ps[j].Index
			}
			return ps[i].Name > ps[j].Name
		})
	}
	highestFirst(l.surplus)
	highestFirst(l.stopped)
	return l
}
