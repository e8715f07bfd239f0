// Package testenv gives integration tests a real control plane: the same
// local platform `cafe up` runs (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok), started once per test package from TestMain and torn
// down when the package's tests end, fail or are interrupted.
//
// Test packages run in parallel: each platform has its own temporary data
// directory, free ports and its own pod range slot, so nothing collides.
package testenv

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cafe-dev/cafe/internal/apiinstall"
	"github.com/cafe-dev/cafe/internal/manager"
	"github.com/cafe-dev/cafe/internal/platform"
)

// Env is a running platform and clients for it.
type Env struct {
	Platform *platform.Platform
	Config   *rest.Config
	Kube     kubernetes.Interface
	// Client is a controller-runtime client (no cache) that knows CAFE's kinds.
	Client client.Client
}

// Options select what a test package needs.
type Options struct {
	// Units and NodesPerUnit of the simulated nodes (default three units of two).
	Units        []string
	NodesPerUnit int
	// NodePods caps pods per node (default 110).
	NodePods int
	// StartLatency is the simulated container start time.
	StartLatency time.Duration
	// InstallCRDs installs CAFE's CRDs and admission policies.
	InstallCRDs bool
	// RunControllers runs CAFE's controllers in the test process (implies
	// InstallCRDs).
	RunControllers bool
	// LiveNodesPerUnit adds live nodes (real processes in each unit's
	// network namespace; needs root). The harness builds cafe-node from this
	// checkout, so a test never runs a stale agent.
	LiveNodesPerUnit int
	// LiveImages maps image repositories to packages of this module that
	// live nodes run for them, e.g. {"cafe/demo": "./cmd/cafe-demo"}; the
	// harness builds each.
	LiveImages map[string]string
	// Binaries are more packages of this module to build beside cafe-node
	// (for example ./cmd/cafe-router), found next to
	// Platform.NodeAgentBinary().
	Binaries []string
}

// Main starts a platform, runs the package's tests and stops the platform.
// Use it as `func TestMain(m *testing.M) { testenv.Main(m, testenv.Options{}, &env) }`.
// A platform that cannot start fails the package: it never skips.
func Main(m *testing.M, opts Options, env **Env) {
	os.Exit(run(m, opts, env))
}

func run(m *testing.M, opts Options, env **Env) int {
	dir, err := os.MkdirTemp("", "cafe-testenv-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	if os.Getenv("CAFE_TESTENV_KEEP") != "" {
		// Keep the platform's data and logs for a post-mortem.
		fmt.Fprintln(os.Stderr, "testenv: keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	var agent, images string
	if opts.LiveNodesPerUnit > 0 {
		if agent, images, err = buildLiveBinaries(filepath.Join(dir, "bin"), opts.LiveImages, opts.Binaries); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := platform.Start(ctx, platform.Options{
		LiveNodesPerUnit: opts.LiveNodesPerUnit,
		NodeAgentBinary:  agent,
		LiveImages:       images,
		DataDir:          filepath.Join(dir, "platform"),
		BinDir:           BinDir(),
		Units:            opts.Units,
		NodesPerUnit:     opts.NodesPerUnit,
		NodePods:         opts.NodePods,
		StartLatency:     opts.StartLatency,
		BeforeControllers: func(ctx context.Context, cfg *rest.Config) error {
			if !opts.InstallCRDs && !opts.RunControllers {
				return nil
			}
			return apiinstall.Install(ctx, cfg)
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: the local platform did not start:", err)
		return 1
	}
	// Interrupted (Ctrl-C, a CI timeout's SIGTERM): stop the platform first.
	// A SIGKILL of the test binary is covered by the children's parent-death
	// signal and by the next platform's clean-up of stale routes.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		p.Stop()
		os.RemoveAll(dir)
		os.Exit(2)
	}()
	defer p.Stop()
	cfg, err := p.RESTConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	e := &Env{Platform: p, Config: cfg, Kube: kube}
	if e.Client, err = client.New(cfg, client.Options{Scheme: manager.Scheme()}); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	if opts.RunControllers {
		stop, err := e.StartControllers(manager.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv: start CAFE's controllers:", err)
			return 1
		}
		defer stop()
	}
	*env = e
	return m.Run()
}

// BinDir is the repository's bin/ directory (or $CAFE_BIN_DIR).
func BinDir() string {
	if d := os.Getenv("CAFE_BIN_DIR"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "bin")
}

// RepoRoot is the directory holding the product's go.mod.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && len(data) > 0 && isProductModule(data) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("testenv: not inside the CAFE repository")
		}
		dir = parent
	}
}

func isProductModule(goMod []byte) bool {
	const want = "module github.com/cafe-dev/cafe\n"
	return len(goMod) >= len(want) && string(goMod[:len(want)]) == want
}
