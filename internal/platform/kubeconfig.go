package platform

import (
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfigs writes the admin kubeconfig (context "cafe") and one for
// each control-plane component with an identity of its own.
func (p *Platform) writeKubeconfigs() error {
	if err := p.writeKubeconfig(p.KubeconfigPath(), p.pki.adminCert(), p.pki.adminKey()); err != nil {
		return err
	}
	for name := range components {
		if err := p.writeKubeconfig(p.componentKubeconfig(name), p.pki.componentCert(name), p.pki.componentKey(name)); err != nil {
			return err
		}
	}
	return nil
}

func (p *Platform) componentKubeconfig(name string) string {
	return filepath.Join(p.opts.DataDir, name+".kubeconfig")
}

func (p *Platform) writeKubeconfig(path, certFile, keyFile string) error {
	ca, err := os.ReadFile(p.pki.caCert())
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cafe"] = &clientcmdapi.Cluster{Server: p.APIServerURL(), CertificateAuthorityData: ca}
	cfg.AuthInfos["cafe-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts["cafe"] = &clientcmdapi.Context{Cluster: "cafe", AuthInfo: "cafe-admin", Namespace: "default"}
	cfg.CurrentContext = "cafe"
	return clientcmd.WriteToFile(*cfg, path)
}
