// Package cli implements kubectl-cafe, the operator's console for CAFE
// releases: it shows a CafeDeployment's units, sets and pods and what its
// release waits for, and writes the user's controls (confirm, pause, resume,
// abort, rollback) and the VM-style pod operations (restart, stop, start).
//
// Decisions (what to confirm, which revision to roll back to, what a frame
// shows, how an API error reads) are pure functions over API objects; the
// commands only read, call them and write.
package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Execute runs kubectl-cafe with the process's arguments and returns its
// exit code.
func Execute() int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	cmd := NewCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

// rootOptions are what every command shares: the kubeconfig flags
// (--kubeconfig, --context, -n, --as, ...) and the streams.
type rootOptions struct {
	streams genericiooptions.IOStreams
	flags   *genericclioptions.ConfigFlags
}

// NewCommand builds the `kubectl cafe` command tree writing to streams.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &rootOptions{streams: streams, flags: genericclioptions.NewConfigFlags(true)}
	root := &cobra.Command{
		Use:   "cafe",
		Short: "The operator's console for CAFE releases",
		Long: `kubectl cafe shows CafeDeployments unit by unit and drives their releases:
confirm a batch, pause, resume, abort, roll back, and restart, stop or start a
pod in place.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl cafe"},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	o.flags.AddFlags(root.PersistentFlags())
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.AddCommand(
		newGetCommand(o),
		newConfirmCommand(o),
		newPauseCommand(o),
		newResumeCommand(o),
		newAbortCommand(o),
		newRollbackCommand(o),
		newHistoryCommand(o),
		newRestartCommand(o),
		newStopCommand(o),
		newStartCommand(o),
		newUnitsCommand(o),
	)
	return root
}
