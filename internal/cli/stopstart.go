package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/controller/inplaceset"
)

func newStopCommand(root *rootOptions) *cobra.Command {
	o := &podOpOptions{}
	cmd := &cobra.Command{
		Use:   "stop pod/NAME",
		Short: "Stop a pod, drained first, keeping its slot: name, unit and volumes",
		Long: `Stop a CAFE pod like a VM: its InPlaceSet drains and deletes it and keeps the
slot empty (the apps.cafe.dev/stopped-slots annotation) without giving its
index to another pod. kubectl cafe start brings it back under the same name.`,
		Example: `  kubectl cafe stop pod/pay-unit-a-1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := podArg("stop", args[0])
			if err != nil {
				return err
			}
			return withSession(root, func(s *session) error { return s.setStopped(cmd.Context(), name, true, o) })
		},
	}
	o.addFlags(cmd)
	return cmd
}

func newStartCommand(root *rootOptions) *cobra.Command {
	o := &podOpOptions{}
	cmd := &cobra.Command{
		Use:     "start pod/NAME",
		Short:   "Start a stopped pod again under the same name",
		Example: `  kubectl cafe start pod/pay-unit-a-1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := podArg("start", args[0])
			if err != nil {
				return err
			}
			return withSession(root, func(s *session) error { return s.setStopped(cmd.Context(), name, false, o) })
		},
	}
	o.addFlags(cmd)
	return cmd
}

// setStopped stops (stop true) or starts a pod's slot through its
// InPlaceSet's stopped-slots annotation.
func (s *session) setStopped(ctx context.Context, name string, stop bool, o *podOpOptions) error {
	pod, err := s.getPod(ctx, name)
	if err != nil {
		return err
	}
	setName, index, err := slotOf(name, pod)
	if err != nil {
		return err
	}
	verb := map[bool]string{true: "stop", false: "start"}[stop]
	var set *appsv1alpha1.InPlaceSet
	for attempt := 1; ; attempt++ {
		if set, err = s.getSet(ctx, setName); err != nil {
			return err
		}
		if set == nil {
			return fmt.Errorf("no pod named %q in namespace %q, and no InPlaceSet %q it could belong to", name, s.namespace, setName)
		}
		value, changed := withSlot(inplaceset.StoppedSlots(set), index, stop)
		if !changed && stop {
			fmt.Fprintf(s.opts.streams.Out, "pod/%s is stopped already (kubectl cafe start pod/%s brings it back)\n", name, name)
			return nil
		}
		if !changed {
			return fmt.Errorf("nothing to start: pod/%s is not stopped", name)
		}
		var annotation any = value
		if value == "" {
			annotation = nil
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"resourceVersion": set.ResourceVersion,
			"annotations":     map[string]any{appsv1alpha1.StoppedSlotsAnnotation: annotation},
		}})
		err = s.client.Patch(ctx, set, client.RawPatch(types.MergePatchType, patch))
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return explain(err, request{verb: "patch", resource: "inplacesets", kind: "InPlaceSet", name: setName, namespace: s.namespace})
		}
		break
	}
	fmt.Fprintf(s.opts.streams.Out, "pod/%s: %s requested (slot %d of InPlaceSet %s)\n", name, verb, index, setName)
	if !o.wait {
		return nil
	}
	return s.track(ctx, "pod/"+name, set.Labels[appsv1alpha1.CafeDeploymentLabel], o.timeout, func(ctx context.Context) (string, bool, error) {
		set, err := s.getSet(ctx, setName)
		if err != nil {
			return "", false, err
		}
		if set == nil {
			return "", false, fmt.Errorf("InPlaceSet %s was deleted", setName)
		}
		pod, err := s.getPod(ctx, name)
		if err != nil {
			return "", false, err
		}
		if stop {
			stage, done := stopStage(set, pod, index)
			return stage, done, nil
		}
		stage, done := startStage(pod)
		return stage, done, nil
	})
}

// stopStage says where a requested stop stands.
func stopStage(set *appsv1alpha1.InPlaceSet, pod *corev1.Pod, index int) (string, bool) {
	if pod != nil {
		switch p := podView(pod, ""); {
		case pod.DeletionTimestamp != nil:
			return "terminating", false
		case p.Serving:
			return "waiting for its turn to leave traffic", false
		default:
			return "out of traffic, draining", false
		}
	}
	for _, i := range set.Status.StoppedIndexes {
		if int(i) == index {
			return fmt.Sprintf("stopped; slot %d of %s is kept for kubectl cafe start", index, set.Name), true
		}
	}
	return "deleted; waiting for the InPlaceSet to record the stop", false
}

// startStage says where a requested start stands.
func startStage(pod *corev1.Pod) (string, bool) {
	if pod == nil {
		return "waiting for the InPlaceSet to create it", false
	}
	p := podView(pod, "")
	switch {
	case pod.DeletionTimestamp != nil:
		return "waiting for the stopped pod to go", false
	case p.Node == "":
		return "waiting for a node", false
	case !p.Ready:
		return "starting on " + p.Node, false
	case !p.Serving:
		return "ready, joining traffic", false
	}
	return fmt.Sprintf("serving on %s, IP %s", p.Node, dash(p.IP)), true
}
