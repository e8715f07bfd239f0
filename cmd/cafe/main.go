// Command cafe runs CAFE's local platform (`cafe up`).
package main

import (
	"os"

	"github.com/cafe-dev/cafe/internal/cafecli"
)

func main() { os.Exit(cafecli.Execute()) }
