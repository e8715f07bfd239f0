// Command imagebuild assembles one CAFE component's container image as an
// OCI image layout without a container engine or a base image: an empty
// (scratch) image plus one layer holding the static binary and a CA bundle.
// hack/images.sh runs it for every in-cluster binary.
//
// It writes the layout, reads it back and validates it with
// go-containerregistry's validate package, so a layout it leaves behind is
// one a registry client will accept.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var spec Spec
	var created int64
	flag.StringVar(&spec.Name, "name", "", "component name: the binary lands at /<name> and is the entrypoint")
	flag.StringVar(&spec.Binary, "binary", "", "path of the static binary to put in the image")
	flag.StringVar(&spec.CABundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA certificates to install at /etc/ssl/certs/ca-certificates.crt")
	flag.StringVar(&spec.OS, "os", "linux", "image OS")
	flag.StringVar(&spec.Arch, "arch", "amd64", "image architecture (GOARCH of the binary)")
	flag.StringVar(&spec.Version, "version", "dev", "version label and the layout's reference name")
	flag.StringVar(&spec.Revision, "revision", "", "source revision label (a commit)")
	flag.StringVar(&spec.Source, "source", "https://github.com/cafe-dev/cafe", "source repository label")
	flag.Int64Var(&created, "created", 0, "creation time in Unix seconds (SOURCE_DATE_EPOCH): the same inputs give the same digest")
	out := flag.String("out", "", "directory of the OCI image layout to write (must not exist)")
	flag.Parse()
	spec.Created = time.Unix(created, 0).UTC()

	if err := run(spec, *out); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func run(spec Spec, out string) error {
	if spec.Name == "" || spec.Binary == "" || out == "" {
		return fmt.Errorf("--name, --binary and --out are required")
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists: remove it first, a layout is written whole", out)
	}
	img, err := Image(spec)
	if err != nil {
		return err
	}
	if err := WriteLayout(out, img, spec); err != nil {
		return err
	}
	digest, err := VerifyLayout(out)
	if err != nil {
		return fmt.Errorf("the layout written to %s is invalid: %w", out, err)
	}
	fmt.Printf("%s %s/%s %s -> %s\n", spec.Name, spec.OS, spec.Arch, digest, out)
	return nil
}
