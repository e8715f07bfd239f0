// Package apiinstall installs CAFE's API on a cluster: its CRDs and the
// admission policies that guard them. The local platform runs it before
// kube-controller-manager starts, so that the controllers' discovery knows
// CAFE's kinds from the start.
package apiinstall

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"

	"github.com/cafe-dev/cafe/config/admission"
	"github.com/cafe-dev/cafe/config/crd"
)

// Install installs the CRDs, then the admission policies.
func Install(ctx context.Context, cfg *rest.Config) error {
	if err := crd.Install(ctx, cfg); err != nil {
		return fmt.Errorf("install CAFE's CRDs: %w", err)
	}
	if err := admission.Install(ctx, cfg); err != nil {
		return fmt.Errorf("install CAFE's admission policies: %w", err)
	}
	return nil
}
