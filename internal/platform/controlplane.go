package platform

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cafe-dev/cafe/internal/platform/kwokstages"
)

// startEtcd runs a single-member etcd on loopback.
func (p *Platform) startEtcd(ctx context.Context) error {
	client := fmt.Sprintf("http://127.0.0.1:%d", p.state.EtcdClientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", p.state.EtcdPeerPort)
	args := []string{
		"--name=cafe",
		"--data-dir=" + filepath.Join(p.opts.DataDir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=cafe=" + peer,
		"--listen-metrics-urls=",
		"--quota-backend-bytes=8589934592",
		"--unsafe-no-fsync", // a local, disposable cluster: durability is not worth the latency
		"--log-level=warn",
	}
	proc, err := p.start("etcd", args)
	if err != nil {
		return err
	}
	return proc.waitFor(ctx, "etcd to serve", func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, client+"/health")
	})
}

// startAPIServer runs kube-apiserver with RBAC, service accounts and the
// local PKI.
func (p *Platform) startAPIServer(ctx context.Context) error {
	k := p.pki
	args := []string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", p.state.EtcdClientPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.apiPort),
		"--tls-cert-file=" + k.servingCert(),
		"--tls-private-key-file=" + k.servingKey(),
		"--client-ca-file=" + k.caCert(),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + k.serviceAccountPub(),
		"--service-account-signing-key-file=" + k.serviceAccountKey(),
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--max-requests-inflight=2000",
		"--max-mutating-requests-inflight=1000",
		"--profiling=" + strconv.FormatBool(p.opts.Profiling),
		"--endpoint-reconciler-type=none",
		"--v=1",
	}
	proc, err := p.start("kube-apiserver", args)
	if err != nil {
		return err
	}
	client, err := p.adminHTTPClient()
	if err != nil {
		return err
	}
	return proc.waitFor(ctx, "the API server to be ready", func(ctx context.Context) error {
		return httpOK(ctx, client, p.APIServerURL()+"/readyz")
	})
}

// startControllerManager runs kube-controller-manager without node IPAM
// (CAFE assigns podCIDRs itself) and with a raised client QPS.
func (p *Platform) startControllerManager() error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	qps := p.opts.ControllerManagerQPS
	kubeconfig := p.componentKubeconfig("kube-controller-manager")
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--leader-elect=false",
		"--allocate-node-cidrs=false",
		"--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle,-attachdetach",
		"--service-account-private-key-file=" + p.pki.serviceAccountKey(),
		"--root-ca-file=" + p.pki.caCert(),
		// Each controller acts as its own service account in kube-system
		// (the garbage collector as generic-garbage-collector, ...), as on a
		// production cluster.
		"--use-service-account-credentials=true",
		"--kube-api-qps=" + strconv.Itoa(qps),
		"--kube-api-burst=" + strconv.Itoa(2*qps),
		"--concurrent-deployment-syncs=20",
		"--concurrent-replicaset-syncs=20",
		"--concurrent-service-endpoint-syncs=20",
		"--concurrent-gc-syncs=50",
		"--profiling=false",
	}
	_, err = p.start("kube-controller-manager", args)
	return err
}

// startScheduler runs kube-scheduler with kube-controller-manager's client
// QPS, but never below its own default (50), so a platform that models a
// stock controller manager does not also starve scheduling.
func (p *Platform) startScheduler() error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	qps := max(p.opts.ControllerManagerQPS, schedulerDefaultQPS)
	config := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: %d
  burst: %d
leaderElection:
  leaderElect: false
`, p.componentKubeconfig("kube-scheduler"), qps, 2*qps)
	path := filepath.Join(p.opts.DataDir, "kube-scheduler.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return err
	}
	args := []string{
		"--config=" + path,
		"--authentication-kubeconfig=" + p.componentKubeconfig("kube-scheduler"),
		"--authorization-kubeconfig=" + p.componentKubeconfig("kube-scheduler"),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
	}
	_, err = p.start("kube-scheduler", args)
	return err
}

// schedulerDefaultQPS is kube-scheduler's own default client QPS.
const schedulerDefaultQPS = 50

// startKwok runs kwok with CAFE's stages, managing the simulated nodes.
func (p *Platform) startKwok() error {
	config, err := kwokstages.Render(kwokstages.Options{
		StartLatency:     p.opts.StartLatency,
		SandboxLatency:   p.opts.SandboxLatency,
		NodeLeaseSeconds: 10,
		FallbackCIDR:     p.podRange.FallbackCIDR(),
	})
	if err != nil {
		return err
	}
	path := filepath.Join(p.opts.DataDir, "kwok.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return err
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	args := []string{
		"--config=" + path,
		"--kubeconfig=" + p.KubeconfigPath(),
		"--node-ip=127.0.0.1",
		"--node-port=" + strconv.Itoa(port),
		"--server-address=127.0.0.1:" + strconv.Itoa(port),
	}
	_, err = p.start("kwok", args)
	return err
}

// adminHTTPClient talks to the API server as the local admin.
func (p *Platform) adminHTTPClient() (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(p.pki.adminCert(), p.pki.adminKey())
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(p.pki.caCert())
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			RootCAs:      pool,
		}},
	}, nil
}

func httpOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
