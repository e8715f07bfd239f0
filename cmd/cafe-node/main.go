// Command cafe-node is a live node of the local platform: it registers a
// node in a unit and runs the containers of the pods bound to it as local
// processes inside the unit's network namespace (see internal/nodeagent and
// docs/local-platform.md). `cafe up --live-nodes-per-unit N` starts it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cafe-dev/cafe/internal/nodeagent"
)

func main() {
	var cfg nodeagent.Config
	var kubeconfig, images, cpu, memory string
	var pods int
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the node's identity")
	flag.StringVar(&cfg.NodeName, "node-name", "", "the node's name")
	flag.StringVar(&cfg.Unit, "unit", "", "the unit (cafe.dev/unit label)")
	flag.StringVar(&cfg.Zone, "zone", "", "the zone label (default: the unit)")
	flag.StringVar(&cfg.Netns, "netns", "", "network namespace the pods' processes run in (empty: the agent's own)")
	flag.StringVar(&cfg.Interface, "interface", "eth0", "interface in that namespace that carries the pod addresses")
	flag.StringVar(&cfg.PodCIDR, "pod-cidr", "", "the node's pod range, e.g. 100.96.1.0/24")
	flag.StringVar(&cfg.NodeIP, "node-ip", "", "the node's own address")
	flag.StringVar(&images, "images", "", "image repository to local binary, e.g. cafe/demo=bin/cafe-demo[,repo=binary...]")
	flag.StringVar(&cfg.DataDir, "data-dir", ".", "directory for the containers' logs")
	flag.StringVar(&cpu, "cpu", "8", "CPU capacity")
	flag.StringVar(&memory, "memory", "16Gi", "memory capacity")
	flag.IntVar(&pods, "pods", 110, "pod capacity")
	flag.Parse()
	if err := run(cfg, kubeconfig, images, cpu, memory, pods); err != nil {
		fmt.Fprintln(os.Stderr, "cafe-node:", err)
		os.Exit(1)
	}
}

func run(cfg nodeagent.Config, kubeconfig, images, cpu, memory string, pods int) error {
	var err error
	if cfg.Images, err = nodeagent.ParseImageMap(images); err != nil {
		return err
	}
	capacity := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(int64(pods), resource.DecimalSI)}
	for name, value := range map[corev1.ResourceName]string{corev1.ResourceCPU: cpu, corev1.ResourceMemory: memory} {
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return fmt.Errorf("--%s %q: %w", name, value, err)
		}
		capacity[name] = q
	}
	cfg.Capacity = capacity
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	restCfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	restCfg.QPS, restCfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	agent, err := nodeagent.New(cfg, cs)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return agent.Run(ctx)
}
