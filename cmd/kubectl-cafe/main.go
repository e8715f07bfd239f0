// Command kubectl-cafe is the operator's console for CAFE releases, run as
// the kubectl plugin `kubectl cafe` (see docs/cli.md).
package main

import (
	"os"

	"github.com/cafe-dev/cafe/internal/cli"
)

func main() { os.Exit(cli.Execute()) }
