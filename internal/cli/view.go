package cli

import (
	"fmt"
	"sort"
	"strconv"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/controller/inplaceset"
)

// WorkloadView is what `kubectl cafe get <name>` shows, and prints as data
// with -o yaml|json: the workload, its release, and its units with their
// InPlaceSets and pods.
type WorkloadView struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Generation and ObservedGeneration differ while the controller has not
	// yet acted on the latest spec; the release fields are then older.
	Generation         int64       `json:"generation"`
	ObservedGeneration int64       `json:"observedGeneration"`
	Stable             RevisionRef `json:"stableRevision"`
	Update             RevisionRef `json:"updateRevision"`
	Release            ReleaseView `json:"release"`
	// WaitingFor says in words what the release waits for, most important
	// first (see waitingFor).
	WaitingFor []string   `json:"waitingFor,omitempty"`
	Total      Counts     `json:"total"`
	Units      []UnitView `json:"units"`
}

// RevisionRef names a revision by its number, as history shows it, and by
// its ControllerRevision name. A pruned revision has no number.
type RevisionRef struct {
	Number int64  `json:"number,omitempty"`
	Name   string `json:"name,omitempty"`
}

func (r RevisionRef) String() string {
	switch {
	case r.Name == "":
		return "-"
	case r.Number == 0:
		return r.Name
	}
	return fmt.Sprintf("%d (%s)", r.Number, r.Name)
}

// short is the revision's number, or its name when it has none.
func (r RevisionRef) short() string {
	if r.Number == 0 {
		return r.String()
	}
	return strconv.FormatInt(r.Number, 10)
}

// ReleaseView is the release in progress, or the last one.
type ReleaseView struct {
	Revision     RevisionRef `json:"revision"`
	Strategy     string      `json:"strategy"`
	Phase        string      `json:"phase,omitempty"`
	Batch        int32       `json:"batch"`
	TotalBatches int32       `json:"totalBatches"`
	Paused       bool        `json:"paused,omitempty"`
	Aborted      bool        `json:"aborted,omitempty"`
	Immediate    bool        `json:"immediate,omitempty"` // spec.release.immediateRevision names this release
}

// Counts are pod counts of a unit or of the whole workload.
type Counts struct {
	// Quota is how many pods the unit should run.
	Quota int32 `json:"quota"`
	// Pods exist and are not terminating.
	Pods int32 `json:"pods"`
	// Ready pods have all containers ready.
	Ready int32 `json:"ready"`
	// Serving pods are in traffic: CAFE's serving condition is True.
	Serving int32 `json:"serving"`
	// Updated pods run the release's revision.
	Updated int32 `json:"updated"`
	// Pending pods have no node.
	Pending int32 `json:"pending"`
	// Stopped slots were stopped by `kubectl cafe stop`.
	Stopped int32 `json:"stopped,omitempty"`
}

// count adds a pod that is not terminating.
func (c *Counts) count(p PodView) {
	c.Pods++
	if p.Ready {
		c.Ready++
	}
	if p.Serving {
		c.Serving++
	}
	if p.Updated {
		c.Updated++
	}
	if p.Node == "" {
		c.Pending++
	}
}

func (c *Counts) add(o Counts) {
	c.Quota += o.Quota
	c.Pods += o.Pods
	c.Ready += o.Ready
	c.Serving += o.Serving
	c.Updated += o.Updated
	c.Pending += o.Pending
	c.Stopped += o.Stopped
}

// UnitView is one unit: its InPlaceSet, counts, batch progress and slots.
type UnitView struct {
	Name       string `json:"name"`
	InPlaceSet string `json:"inPlaceSet"`
	Counts
	// BatchTarget is how many of the unit's pods the current batch lets
	// reach the release's revision; BatchDone how many of them are there
	// and serving.
	BatchTarget int32 `json:"batchTarget"`
	BatchDone   int32 `json:"batchDone"`
	// Slots are the unit's pods and stopped slots, by index.
	Slots []PodView `json:"slots"`
}

// PodView is one pod, or one stopped slot (status Stopped).
type PodView struct {
	Name     string      `json:"name"`
	Index    int         `json:"index"`
	Revision RevisionRef `json:"revision"`
	Status   string      `json:"status"`
	Ready    bool        `json:"ready"`
	Serving  bool        `json:"serving"`
	Updated  bool        `json:"updated"`
	Node     string      `json:"node,omitempty"`
	IP       string      `json:"ip,omitempty"`
	Restarts int32       `json:"restarts"`
}

// buildView computes what get shows from a snapshot. Units come in spec
// order, then units that left the spec but still have a set or pods, by
// name; pods by index.
func buildView(s *snapshot) WorkloadView {
	cd := s.workload
	numbers := map[string]int64{}
	for _, r := range s.revisions {
		numbers[r.Name] = r.Revision
	}
	ref := func(name string) RevisionRef { return RevisionRef{Number: numbers[name], Name: name} }
	st := cd.Status
	target := st.Release.Revision
	if target == "" {
		target = st.UpdateRevision
	}
	v := WorkloadView{
		Name: cd.Name, Namespace: cd.Namespace,
		Generation: cd.Generation, ObservedGeneration: st.ObservedGeneration,
		Stable: ref(st.CurrentRevision), Update: ref(st.UpdateRevision),
		Release: ReleaseView{
			Revision: ref(target), Strategy: string(cd.Spec.Strategy.Type), Phase: string(st.Release.Phase),
			Batch: st.Release.Batch, TotalBatches: st.Release.TotalBatches,
			Paused: cd.Spec.Strategy.Paused, Aborted: cd.Spec.Release.Abort, Immediate: target != "" && cd.Spec.Release.ImmediateRevision == target,
		},
	}
	if v.Release.Strategy == "" {
		v.Release.Strategy = string(appsv1alpha1.ReleaseBatch)
	}

	units := map[string]*UnitView{}
	var order []string
	unit := func(name string) *UnitView {
		if u, ok := units[name]; ok {
			return u
		}
		units[name] = &UnitView{Name: name, InPlaceSet: cd.Name + "-" + name}
		order = append(order, name)
		return units[name]
	}
	for _, u := range cd.Spec.Topology.Units {
		unit(u.Name)
	}
	var extra []string
	for _, set := range s.sets {
		if _, ok := units[set.Labels[appsv1alpha1.UnitLabel]]; !ok {
			extra = append(extra, set.Labels[appsv1alpha1.UnitLabel])
		}
	}
	for _, pod := range s.pods {
		if _, ok := units[pod.Labels[appsv1alpha1.UnitLabel]]; !ok {
			extra = append(extra, pod.Labels[appsv1alpha1.UnitLabel])
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		unit(name)
	}
	for _, us := range st.Units {
		u := unit(us.Name)
		u.Quota, u.BatchTarget = us.Quota, us.Target
	}

	setUpdate := map[string]string{}
	for i := range s.sets {
		set := &s.sets[i]
		u := unit(set.Labels[appsv1alpha1.UnitLabel])
		u.InPlaceSet = set.Name
		setUpdate[set.Name] = set.Status.UpdateRevision
		for _, index := range inplaceset.StoppedSlots(set) {
			u.Slots = append(u.Slots, PodView{Name: inplaceset.PodName(set, index), Index: index, Status: statusStopped})
			u.Stopped++
		}
	}
	for i := range s.pods {
		pod := &s.pods[i]
		u := unit(pod.Labels[appsv1alpha1.UnitLabel])
		p := podView(pod, setUpdate[u.InPlaceSet])
		p.Revision = ref(pod.Labels[appsv1alpha1.ReleaseRevisionLabel])
		p.Updated = p.Revision.Name == target
		u.Slots = replaceSlot(u.Slots, p)
		if pod.DeletionTimestamp != nil {
			continue
		}
		u.count(p)
		if p.Updated && p.Serving {
			u.BatchDone++
		}
	}
	for _, name := range order {
		u := units[name]
		sort.SliceStable(u.Slots, func(i, j int) bool { return u.Slots[i].Index < u.Slots[j].Index })
		v.Total.add(u.Counts)
		v.Units = append(v.Units, *u)
	}
	v.WaitingFor = waitingFor(cd, v)
	return v
}

// replaceSlot adds a pod to a unit's list; the pod of a slot being stopped
// takes the place of the slot's Stopped entry.
func replaceSlot(pods []PodView, p PodView) []PodView {
	for i := range pods {
		if pods[i].Name == p.Name && pods[i].Status == statusStopped {
			if p.Status != statusTerminating {
				p.Status = statusStopping
			}
			pods[i] = p
			return pods
		}
	}
	return append(pods, p)
}
