package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

type getOptions struct {
	root   *rootOptions
	output string
	watch  bool
	pods   bool
}

func newGetCommand(root *rootOptions) *cobra.Command {
	o := &getOptions{root: root}
	cmd := &cobra.Command{
		Use:   "get [NAME]",
		Short: "Show a CafeDeployment's release, units and pods, or list CafeDeployments",
		Long: `Show a CafeDeployment unit by unit: its revisions, the release's phase and
batch, what the release waits for, and per unit the InPlaceSet with its pod
counts and batch progress. --pods lists every pod under its unit. Without a
name, list the namespace's CafeDeployments.

READY counts pods whose containers are ready; SERVING those in traffic
(CAFE's apps.cafe.dev/serving condition True); UPDATED those at the release's
revision; BATCH is, per unit, updated pods in traffic over the current
batch's target.`,
		Example: `  kubectl cafe get pay
  kubectl cafe get pay --pods
  kubectl cafe get pay --watch
  kubectl cafe get pay -o yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output); err != nil {
				return err
			}
			s, err := root.connect()
			if err != nil {
				return err
			}
			switch {
			case len(args) == 0 && o.watch:
				return fmt.Errorf("--watch follows one CafeDeployment: kubectl cafe get NAME --watch")
			case len(args) == 0:
				return o.list(cmd.Context(), s)
			case o.watch:
				return o.follow(cmd.Context(), s, args[0])
			}
			snap, err := s.load(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			frame, err := o.render(buildView(snap))
			if err != nil {
				return err
			}
			_, err = io.WriteString(root.streams.Out, frame)
			return err
		},
	}
	outputFlag(cmd, &o.output)
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "redraw on every change until the release completes or waits (for a confirmation, a resume or a lifted abort)")
	cmd.Flags().BoolVar(&o.pods, "pods", false, "list every pod under its unit")
	return cmd
}

// render is one frame: the tree, or the view as data.
func (o *getOptions) render(v WorkloadView) (string, error) {
	var buf bytes.Buffer
	var err error
	if o.output != "" {
		err = printData(&buf, o.output, v)
	} else {
		err = renderWorkload(&buf, v, o.pods)
	}
	return buf.String(), err
}

// WorkloadSummary is one line of `kubectl cafe get` without a name.
type WorkloadSummary struct {
	Name         string `json:"name"`
	Replicas     int32  `json:"replicas"`
	Ready        int32  `json:"ready"`
	Updated      int32  `json:"updated"`
	Revision     string `json:"revision"`
	Phase        string `json:"phase"`
	Batch        int32  `json:"batch"`
	TotalBatches int32  `json:"totalBatches"`
	WaitingFor   string `json:"waitingFor,omitempty"`
}

func (o *getOptions) list(ctx context.Context, s *session) error {
	var list appsv1alpha1.CafeDeploymentList
	if err := s.client.List(ctx, &list, client.InNamespace(s.namespace)); err != nil {
		return explain(err, cafeDeploymentRequest("list", "", s.namespace))
	}
	summaries := summarize(list.Items)
	if o.output != "" {
		return printData(o.root.streams.Out, o.output, summaries)
	}
	if len(summaries) == 0 {
		fmt.Fprintf(o.root.streams.ErrOut, "no CafeDeployments in namespace %s\n", s.namespace)
		return nil
	}
	t := &table{}
	t.row("NAME", "REPLICAS", "READY", "UPDATED", "REVISION", "PHASE", "BATCH")
	for _, w := range summaries {
		t.row(w.Name, itoa(w.Replicas), itoa(w.Ready), itoa(w.Updated), dash(w.Revision), dash(w.Phase), fmt.Sprintf("%d/%d", w.Batch, w.TotalBatches))
	}
	return t.write(o.root.streams.Out)
}

// summarize describes each workload from its status alone, in the API's
// (name) order.
func summarize(items []appsv1alpha1.CafeDeployment) []WorkloadSummary {
	out := []WorkloadSummary{}
	for _, cd := range items {
		replicas := int32(1)
		if cd.Spec.Replicas != nil {
			replicas = *cd.Spec.Replicas
		}
		st := cd.Status
		out = append(out, WorkloadSummary{
			Name: cd.Name, Replicas: replicas, Ready: st.ReadyReplicas, Updated: st.UpdatedReplicas,
			Revision: st.UpdateRevision, Phase: string(st.Release.Phase), Batch: st.Release.Batch, TotalBatches: st.Release.TotalBatches,
			WaitingFor: st.Release.WaitingFor,
		})
	}
	return out
}
