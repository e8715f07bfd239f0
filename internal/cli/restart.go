package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

func newRestartCommand(root *rootOptions) *cobra.Command {
	o := &podOpOptions{}
	cmd := &cobra.Command{
		Use:   "restart pod/NAME",
		Short: "Restart a pod's containers in place, drained first: same pod, name and IP",
		Long: `Restart a CAFE pod like a VM: its InPlaceSet takes it out of traffic, waits for
the drain, restarts its containers in place and puts it back once ready. The
pod keeps its name, UID, IP, node and volumes.`,
		Example: `  kubectl cafe restart pod/pay-unit-a-0`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := podArg("restart", args[0])
			if err != nil {
				return err
			}
			return withSession(root, func(s *session) error { return s.restart(cmd.Context(), name, o) })
		},
	}
	o.addFlags(cmd)
	return cmd
}

func (s *session) restart(ctx context.Context, name string, o *podOpOptions) error {
	pod, err := s.getPod(ctx, name)
	if err != nil {
		return err
	}
	if pod == nil {
		return fmt.Errorf("no pod named %q in namespace %q (a stopped pod starts with kubectl cafe start pod/%s)", name, s.namespace, name)
	}
	if _, _, err := slotOf(name, pod); err != nil {
		return err
	}
	token := time.Now().UTC().Format(time.RFC3339Nano)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid":         pod.UID,
		"annotations": map[string]string{appsv1alpha1.RestartRequestedAnnotation: token},
	}})
	if err := s.client.Patch(ctx, pod, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return explain(err, request{verb: "patch", resource: "pods", kind: "Pod", name: name, namespace: s.namespace})
	}
	fmt.Fprintf(s.opts.streams.Out, "pod/%s: restart requested\n", name)
	if !o.wait {
		return nil
	}
	uid, restarts := pod.UID, podView(pod, "").Restarts
	return s.track(ctx, "pod/"+name, pod.Labels[appsv1alpha1.CafeDeploymentLabel], o.timeout, func(ctx context.Context) (string, bool, error) {
		pod, err := s.getPod(ctx, name)
		if err != nil {
			return "", false, err
		}
		return restartStage(pod, uid, restarts, token)
	})
}

// restartStage says where a requested restart stands: uid is the pod's
// before the request, restarts its containers' restart count then.
func restartStage(pod *corev1.Pod, uid types.UID, restarts int32, token string) (string, bool, error) {
	if pod == nil || pod.UID != uid {
		return "", false, fmt.Errorf("the pod was deleted during the restart; its InPlaceSet recreates it under the same name")
	}
	p := podView(pod, "")
	switch {
	case pod.Annotations[appsv1alpha1.RestartHandledAnnotation] != token && p.Serving:
		return "waiting for its turn to leave traffic", false, nil
	case pod.Annotations[appsv1alpha1.RestartHandledAnnotation] != token:
		return "out of traffic, draining", false, nil
	case p.Restarts <= restarts || !p.Ready:
		return "restarting in place", false, nil
	case !p.Serving:
		return "ready, joining traffic", false, nil
	}
	return fmt.Sprintf("restarted in place and back in traffic (same pod, IP %s)", dash(p.IP)), true, nil
}
