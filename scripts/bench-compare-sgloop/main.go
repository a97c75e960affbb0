// Command bench-compare-sgloop is the baseline for airlock's batch verification: a bare loop
// over sigstore-go's verifier, one verifier shared by one worker per CPU, verifying
// FILE against FILE.sigstore.json for every FILE argument with a keyless identity policy.
// It prints one line: the count, the wall time and bundles per second. It exits 1 if any
// bundle fails, so a figure is never reported for work that was not done.
//
//	bench-compare-sgloop -trusted-root T -certificate-identity ID -certificate-oidc-issuer ISS FILE...
//
// Used by scripts/bench-compare-batch.sh; not part of airlock.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

func main() {
	trPath := flag.String("trusted-root", "", "trusted_root.json")
	san := flag.String("certificate-identity", "", "certificate SAN")
	iss := flag.String("certificate-oidc-issuer", "", "OIDC issuer")
	workers := flag.Int("workers", runtime.NumCPU(), "parallel workers")
	flag.Parse()
	tr, err := root.NewTrustedRootFromPath(*trPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	v, err := sgverify.NewVerifier(tr, sgverify.WithSignedCertificateTimestamps(1),
		sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	id, err := sgverify.NewShortCertificateIdentity(*iss, "", *san, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	files := flag.Args()
	start := time.Now()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) {
					return
				}
				if err := verifyOne(v, id, files[i]); err != nil {
					fmt.Fprintf(os.Stderr, "%s: %v\n", files[i], err)
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	fmt.Printf("%d bundles, %d workers, %.3f s, %.0f bundles/s\n", len(files), *workers,
		d.Seconds(), float64(len(files))/d.Seconds())
	if failed.Load() > 0 {
		os.Exit(1)
	}
}

func verifyOne(v *sgverify.Verifier, id sgverify.CertificateIdentity, file string) error {
	b, err := sgbundle.LoadJSONFromPath(file + ".sigstore.json")
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = v.Verify(b, sgverify.NewPolicy(sgverify.WithArtifact(f), sgverify.WithCertificateIdentity(id)))
	return err
}
