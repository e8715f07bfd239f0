package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1alpha1 "github.com/cafe-dev/cafe/api/apps/v1alpha1"
)

// podOpOptions are the flags restart, stop and start share.
type podOpOptions struct {
	wait    bool
	timeout time.Duration
}

func (o *podOpOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.wait, "wait", true, "wait until the pod is done, printing each step")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 60*time.Second, "how long to wait; the request stays in place after it")
}

// getPod reads a pod; nil, nil when it does not exist (a stopped slot).
func (s *session) getPod(ctx context.Context, name string) (*corev1.Pod, error) {
	var pod corev1.Pod
	err := s.client.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, &pod)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return &pod, explain(err, request{verb: "get", resource: "pods", kind: "Pod", name: name, namespace: s.namespace})
}

// getSet reads an InPlaceSet; nil, nil when it does not exist.
func (s *session) getSet(ctx context.Context, name string) (*appsv1alpha1.InPlaceSet, error) {
	var set appsv1alpha1.InPlaceSet
	err := s.client.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, &set)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return &set, explain(err, request{verb: "get", resource: "inplacesets", kind: "InPlaceSet", name: name, namespace: s.namespace})
}

// pollInterval is how often restart, stop and start look at the pod.
const pollInterval = 250 * time.Millisecond

// track prints each new stage of a pod operation until it is done, fails
// or timeout passes.
func (s *session) track(ctx context.Context, what, workload string, timeout time.Duration, stage func(context.Context) (string, bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		now, done, err := stage(ctx)
		if ctx.Err() != nil {
			return timedOut(what, last, workload, timeout)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if now != last {
			fmt.Fprintf(s.opts.streams.Out, "%s: %s\n", what, now)
			last = now
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return timedOut(what, last, workload, timeout)
		case <-time.After(pollInterval):
		}
	}
}

func timedOut(what, stage, workload string, timeout time.Duration) error {
	hint := ""
	if workload != "" {
		hint = fmt.Sprintf("; kubectl cafe get %s --pods shows where it stands", workload)
	}
	return fmt.Errorf("%s: still %q after %s; the request stays in place and CAFE goes on with it%s", what, stage, timeout, hint)
}
