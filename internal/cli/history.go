package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
	"github.com/cafe-dev/cafe/internal/releaseops"
	"github.com/cafe-dev/cafe/internal/revision"
)

// HistoryView is what `kubectl cafe history` shows: the kept revisions and
// the batches of the latest release, with who confirmed each.
type HistoryView struct {
	Name      string         `json:"name"`
	Namespace string         `json:"namespace"`
	Revisions []RevisionView `json:"revisions"`
	Release   ReleaseHistory `json:"release"`
}

// RevisionView is one kept revision.
type RevisionView struct {
	Number      int64       `json:"number"`
	Name        string      `json:"name"`
	Images      []string    `json:"images"`
	ChangeCause string      `json:"changeCause,omitempty"`
	Created     metav1.Time `json:"created"`
	// Role is "current" for the revision every pod runs, or "target"
	// (the template's, which a release moves pods to) and "stable" (the one
	// the last completed release left) while they differ.
	Role string `json:"role,omitempty"`
	// Batches are the batch records of the latest release to this revision,
	// kept on the revision by the controller.
	Batches []appsv1alpha1.BatchRecord `json:"batches,omitempty"`
}

// ReleaseHistory is the latest release's record.
type ReleaseHistory struct {
	Revision    RevisionRef                `json:"revision"`
	Phase       string                     `json:"phase,omitempty"`
	RequestedBy string                     `json:"requestedBy,omitempty"`
	AbortedBy   string                     `json:"abortedBy,omitempty"`
	Batches     []appsv1alpha1.BatchRecord `json:"batches"`
}

func newHistoryCommand(root *rootOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "List a CafeDeployment's revisions and who confirmed each batch of its release",
		Long: `List the kept revisions of a CafeDeployment, oldest first, with their images,
change cause and creation time, then the batches of the latest release: when
each started and completed, and who confirmed it. kubectl cafe rollback
--to-revision N goes back to one of them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			return withSession(root, func(s *session) error {
				v, err := s.history(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if output != "" {
					return printData(root.streams.Out, output, v)
				}
				return renderHistory(root.streams.Out, v)
			})
		},
	}
	outputFlag(cmd, &output)
	return cmd
}

func (s *session) history(ctx context.Context, name string) (HistoryView, error) {
	cd, err := s.getWorkload(ctx, name)
	if err != nil {
		return HistoryView{}, err
	}
	revs, err := s.revisions(ctx, cd)
	if err != nil {
		return HistoryView{}, err
	}
	return buildHistory(&snapshot{workload: cd, revisions: revs})
}

// buildHistory describes the snapshot's revisions and latest release.
func buildHistory(snap *snapshot) (HistoryView, error) {
	cd := snap.workload
	st := cd.Status
	v := HistoryView{Name: cd.Name, Namespace: cd.Namespace, Revisions: []RevisionView{}}
	numbers := map[string]int64{}
	for i := range snap.revisions {
		r := &snap.revisions[i]
		numbers[r.Name] = r.Revision
		t, err := revision.Template(r)
		if err != nil {
			return v, err
		}
		rv := RevisionView{Number: r.Revision, Name: r.Name, Images: images(t.Spec.Containers),
			ChangeCause: r.Annotations[appsv1alpha1.ChangeCauseAnnotation], Created: r.CreationTimestamp}
		if data := r.Annotations[appsv1alpha1.ReleaseBatchesAnnotation]; data != "" {
			// A record that does not parse is shown as none rather than
			// failing the whole history.
			_ = json.Unmarshal([]byte(data), &rv.Batches)
		}
		switch {
		case r.Name == st.UpdateRevision && r.Name == st.CurrentRevision:
			rv.Role = "current"
		case r.Name == st.UpdateRevision:
			rv.Role = "target"
		case r.Name == st.CurrentRevision:
			rv.Role = "stable"
		}
		v.Revisions = append(v.Revisions, rv)
	}
	v.Release = ReleaseHistory{
		Revision:    RevisionRef{Number: numbers[st.Release.Revision], Name: st.Release.Revision},
		Phase:       string(st.Release.Phase),
		RequestedBy: st.Release.RequestedBy,
		AbortedBy:   st.Release.AbortedBy,
		Batches:     append([]appsv1alpha1.BatchRecord{}, st.Release.Batches...),
	}
	return v, nil
}

func renderHistory(w io.Writer, v HistoryView) error {
	revs := &table{}
	revs.row("REVISION", "NAME", "IMAGES", "CREATED", "ROLE", "CONFIRMED BY", "CHANGE CAUSE")
	for _, r := range v.Revisions {
		revs.row(fmt.Sprint(r.Number), r.Name, dash(strings.Join(r.Images, " ")), stamp(&r.Created), dash(r.Role), dash(confirmers(r.Batches)), dash(r.ChangeCause))
	}
	if err := revs.write(w); err != nil {
		return err
	}
	if v.Release.Revision.Name == "" {
		return nil
	}
	who := ""
	if v.Release.RequestedBy != "" {
		who += ", requested by " + v.Release.RequestedBy
	}
	if v.Release.AbortedBy != "" {
		who += ", aborted by " + v.Release.AbortedBy
	}
	fmt.Fprintf(w, "\nRelease to revision %s: %s%s\n", v.Release.Revision, releaseops.PhaseOrNone(appsv1alpha1.ReleasePhase(v.Release.Phase)), who)
	if len(v.Release.Batches) == 0 {
		_, err := fmt.Fprintln(w, "no batches: every pod already ran this revision")
		return err
	}
	batches := &table{}
	batches.row("BATCH", "PODS AFTER", "STARTED", "CONFIRMED BY", "CONFIRMED", "COMPLETED")
	for _, b := range v.Release.Batches {
		batches.row(fmt.Sprint(b.Batch), fmt.Sprint(b.Target), stamp(b.StartedAt), dash(b.ConfirmedBy), stamp(b.ConfirmedAt), stamp(b.CompletedAt))
	}
	return batches.write(w)
}

// images lists a template's containers as name=image.
func images(containers []corev1.Container) []string {
	out := []string{}
	for _, c := range containers {
		out = append(out, c.Name+"="+c.Image)
	}
	return out
}

// stamp is a time in UTC, to the second: history is an audit record, so
// absolute times rather than ages.
func stamp(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// confirmers summarises who confirmed a release's batches: "b1 alice, b2 bob".
func confirmers(batches []appsv1alpha1.BatchRecord) string {
	var parts []string
	for _, b := range batches {
		if b.ConfirmedBy != "" {
			parts = append(parts, fmt.Sprintf("b%d %s", b.Batch, b.ConfirmedBy))
		}
	}
	return strings.Join(parts, ", ")
}
