// Package sgobench measures sigstore-go's bundle verification (ns/op) on a bundle
// produced against the private stack, for comparison with sigverify's own numbers.
//
//	SGO_BENCH_BUNDLE=blob.sigstore.json SGO_BENCH_ARTIFACT=blob.txt \
//	SGO_BENCH_TRUSTED_ROOT=trusted_root.json SGO_BENCH_IDENTITY=ci@sigverify.test \
//	SGO_BENCH_ISSUER=http://127.0.0.1:8080 go test -bench . -benchmem
//
// Without those variables the benchmark is skipped.
package sgobench

import (
	"bytes"
	"os"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

func BenchmarkVerifyBundle(b *testing.B) {
	bp, ap, tp := os.Getenv("SGO_BENCH_BUNDLE"), os.Getenv("SGO_BENCH_ARTIFACT"), os.Getenv("SGO_BENCH_TRUSTED_ROOT")
	if bp == "" || ap == "" || tp == "" {
		b.Skip("set SGO_BENCH_BUNDLE, SGO_BENCH_ARTIFACT, SGO_BENCH_TRUSTED_ROOT")
	}
	bun, err := bundle.LoadJSONFromPath(bp)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromPath(tp)
	if err != nil {
		b.Fatal(err)
	}
	artifact, err := os.ReadFile(ap)
	if err != nil {
		b.Fatal(err)
	}
	opts := []verify.VerifierOption{verify.WithSignedCertificateTimestamps(1)}
	if os.Getenv("SGO_BENCH_TSA") == "1" {
		opts = append(opts, verify.WithObserverTimestamps(1), verify.WithTransparencyLog(1))
	} else {
		opts = append(opts, verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1))
	}
	v, err := verify.NewVerifier(tr, opts...)
	if err != nil {
		b.Fatal(err)
	}
	id, err := verify.NewShortCertificateIdentity(os.Getenv("SGO_BENCH_ISSUER"), "", os.Getenv("SGO_BENCH_IDENTITY"), "")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		policy := verify.NewPolicy(verify.WithArtifact(bytes.NewReader(artifact)), verify.WithCertificateIdentity(id))
		if _, err := v.Verify(bun, policy); err != nil {
			b.Fatal(err)
		}
	}
}
