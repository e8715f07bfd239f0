package platform

import (
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes the admin kubeconfig (context "cafe").
func (p *Platform) writeKubeconfig() error {
	ca, err := os.ReadFile(p.pki.caCert())
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(p.pki.adminCert())
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.pki.adminKey())
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cafe"] = &clientcmdapi.Cluster{Server: p.APIServerURL(), CertificateAuthorityData: ca}
	cfg.AuthInfos["cafe-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts["cafe"] = &clientcmdapi.Context{Cluster: "cafe", AuthInfo: "cafe-admin", Namespace: "default"}
	cfg.CurrentContext = "cafe"
	return clientcmd.WriteToFile(*cfg, p.KubeconfigPath())
}
