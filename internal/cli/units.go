package cli

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/controller/cafedeployment"
)

// noUnit groups nodes without the unit label.
const noUnit = "<none>"

// UnitCapacityView is one unit as `kubectl cafe units` shows it.
type UnitCapacityView struct {
	Name  string   `json:"name"`
	Nodes []string `json:"nodes"`
	// Allocatable sums the nodes' allocatable resources.
	Allocatable Allocatable `json:"allocatable"`
	// CafePods counts the CAFE pods on the unit's nodes, or waiting for one.
	CafePods  int32          `json:"cafePods"`
	Workloads []UnitWorkload `json:"workloads"`
}

// Allocatable is what a unit's nodes can hold.
type Allocatable struct {
	Pods   int64  `json:"pods"`
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
}

// UnitWorkload is one CafeDeployment's pods in a unit.
type UnitWorkload struct {
	Name    string `json:"name"`
	Pods    int32  `json:"pods"`
	Ready   int32  `json:"ready"`
	Serving int32  `json:"serving"`
	Pending int32  `json:"pending"`
}

type unitsOptions struct {
	output        string
	unitLabel     string
	allNamespaces bool
}

func newUnitsCommand(root *rootOptions) *cobra.Command {
	o := &unitsOptions{}
	cmd := &cobra.Command{
		Use:   "units",
		Short: "List the units: their nodes, capacity, and each CafeDeployment's pods there",
		Long: `List the deployment units: the nodes grouped by the unit label, what they can
allocate, and, per CafeDeployment of the namespace (or of all with -A), how
many of its pods run there, are ready, and serve traffic. Pods no node has
taken yet count in the unit they are pinned to, as pending.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output); err != nil {
				return err
			}
			return withSession(root, func(s *session) error {
				units, err := s.units(cmd.Context(), o)
				if err != nil {
					return err
				}
				if o.output != "" {
					return printData(root.streams.Out, o.output, units)
				}
				return renderUnits(root.streams.Out, units)
			})
		},
	}
	outputFlag(cmd, &o.output)
	cmd.Flags().StringVar(&o.unitLabel, "unit-label", cafedeployment.DefaultUnitLabel, "the node label whose value names a node's unit")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "count the pods of every namespace's CafeDeployments")
	return cmd
}

func (s *session) units(ctx context.Context, o *unitsOptions) ([]UnitCapacityView, error) {
	var nodes corev1.NodeList
	if err := s.client.List(ctx, &nodes); err != nil {
		return nil, explain(err, request{verb: "list", resource: "nodes", kind: "Node"})
	}
	var pods corev1.PodList
	opts := []client.ListOption{client.HasLabels{appsv1alpha1.CafeDeploymentLabel}}
	ns := ""
	if !o.allNamespaces {
		ns = s.namespace
		opts = append(opts, client.InNamespace(ns))
	}
	if err := s.client.List(ctx, &pods, opts...); err != nil {
		return nil, explain(err, request{verb: "list", resource: "pods", kind: "Pod", namespace: ns})
	}
	return buildUnits(nodes.Items, pods.Items, o.unitLabel, o.allNamespaces), nil
}

// buildUnits groups nodes by unit label, units in name order (nodes
// without the label last), and counts the pods per unit and workload.
// Workloads are named namespace/name when qualified.
func buildUnits(nodes []corev1.Node, pods []corev1.Pod, unitLabel string, qualified bool) []UnitCapacityView {
	type acc struct {
		view     UnitCapacityView
		cpu, mem resource.Quantity
		byName   map[string]*UnitWorkload
	}
	units := map[string]*acc{}
	unit := func(name string) *acc {
		if units[name] == nil {
			units[name] = &acc{view: UnitCapacityView{Name: name, Nodes: []string{}, Workloads: []UnitWorkload{}}, byName: map[string]*UnitWorkload{}}
		}
		return units[name]
	}
	unitOfNode := map[string]string{}
	for _, n := range nodes {
		name := n.Labels[unitLabel]
		if name == "" {
			name = noUnit
		}
		unitOfNode[n.Name] = name
		u := unit(name)
		u.view.Nodes = append(u.view.Nodes, n.Name)
		u.view.Allocatable.Pods += n.Status.Allocatable.Pods().Value()
		u.cpu.Add(*n.Status.Allocatable.Cpu())
		u.mem.Add(*n.Status.Allocatable.Memory())
	}
	for i := range pods {
		pod := &pods[i]
		if pod.DeletionTimestamp != nil {
			continue
		}
		name, ok := unitOfNode[pod.Spec.NodeName]
		if !ok {
			name = pod.Labels[appsv1alpha1.UnitLabel]
		}
		if name == "" {
			name = noUnit
		}
		u := unit(name)
		workload := pod.Labels[appsv1alpha1.CafeDeploymentLabel]
		if qualified {
			workload = pod.Namespace + "/" + workload
		}
		w := u.byName[workload]
		if w == nil {
			w = &UnitWorkload{Name: workload}
			u.byName[workload] = w
		}
		p := podView(pod, "")
		u.view.CafePods++
		w.Pods++
		if p.Ready {
			w.Ready++
		}
		if p.Serving {
			w.Serving++
		}
		if p.Node == "" {
			w.Pending++
		}
	}
	var names []string
	for name := range units {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == noUnit) != (names[j] == noUnit) {
			return names[j] == noUnit
		}
		return names[i] < names[j]
	})
	out := []UnitCapacityView{}
	for _, name := range names {
		u := units[name]
		sort.Strings(u.view.Nodes)
		u.view.Allocatable.CPU, u.view.Allocatable.Memory = u.cpu.String(), u.mem.String()
		for _, w := range u.byName {
			u.view.Workloads = append(u.view.Workloads, *w)
		}
		sort.Slice(u.view.Workloads, func(i, j int) bool { return u.view.Workloads[i].Name < u.view.Workloads[j].Name })
		out = append(out, u.view)
	}
	return out
}

func renderUnits(w io.Writer, units []UnitCapacityView) error {
	t := &table{}
	t.row("UNIT / WORKLOAD", "NODES", "POD SLOTS", "CPU", "MEMORY", "CAFE PODS", "READY", "SERVING", "PENDING")
	for _, u := range units {
		t.row(u.Name, names(u.Nodes), fmt.Sprint(u.Allocatable.Pods), u.Allocatable.CPU, u.Allocatable.Memory, itoa(u.CafePods))
		for i, wl := range u.Workloads {
			branch := "├─ "
			if i == len(u.Workloads)-1 {
				branch = "└─ "
			}
			t.row(branch+wl.Name, "", "", "", "", itoa(wl.Pods), itoa(wl.Ready), itoa(wl.Serving), itoa(wl.Pending))
		}
	}
	return t.write(w)
}
