package bundle

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// maxCachedLeaves bounds the leaf-certificate cache of one Verifier.
const maxCachedLeaves = 1 << 14

// noLeafCache turns the leaf cache off; benchmarks use it to measure
// batches of distinct certificates.
var noLeafCache = false

// cachingMaterial wraps trusted material so that its certificate
// authorities remember path-validation work across verifications.
type cachingMaterial struct {
	root.TrustedMaterial
	cas []root.CertificateAuthority
}

func newCachingMaterial(tm root.TrustedMaterial) *cachingMaterial {
	m := &cachingMaterial{TrustedMaterial: tm}
	for _, ca := range tm.FulcioCertificateAuthorities() {
		m.cas = append(m.cas, &cachingCA{inner: ca})
	}
	return m
}

func (m *cachingMaterial) FulcioCertificateAuthorities() []root.CertificateAuthority { return m.cas }

// cachingCA is a CertificateAuthority that gives the same answers as the
// one it wraps, with less work:
//
//   - A leaf certificate already validated (same DER) reuses its chains;
//     only the validity windows of the chain's certificates and of the CA
//     are checked again at the new time. Signatures, key usages and
//     constraints do not depend on time.
//   - For a Fulcio CA with one intermediate, the intermediate is checked
//     against the root once; leaves are then validated with the
//     intermediate as the anchor (x509 still checks the intermediate's
//     constraints and key usage), and the validity windows of the
//     intermediate and the root are checked at the verification time. This shortcut is taken
//     only when neither certificate has name constraints and the root
//     allows an intermediate below it; otherwise every call is the
//     wrapped CA's.
//
// Anything the shortcut cannot validate goes to the wrapped CA, so a
// rejection is always the wrapped CA's verdict.
type cachingCA struct {
	inner root.CertificateAuthority

	anchorOnce sync.Once
	anchor     *x509.CertPool // the intermediate, when the shortcut applies
	fca        *root.FulcioCertificateAuthority

	mu     sync.Mutex
	leaves map[[32]byte][][]*x509.Certificate
}

func (c *cachingCA) Verify(cert *x509.Certificate, t time.Time) ([][]*x509.Certificate, error) {
	key := sha256.Sum256(cert.Raw)
	c.mu.Lock()
	cached := c.leaves[key]
	c.mu.Unlock()
	if noLeafCache {
		cached = nil
	}
	if cached != nil && c.caValidAt(t) {
		var ok [][]*x509.Certificate
		for _, chain := range cached {
			if chainValidAt(chain, t) {
				ok = append(ok, chain)
			}
		}
		if len(ok) > 0 {
			return ok, nil
		}
	}
	chains, err := c.verify(cert, t)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.leaves == nil {
		c.leaves = map[[32]byte][][]*x509.Certificate{}
	}
	if len(c.leaves) < maxCachedLeaves {
		c.leaves[key] = chains
	}
	c.mu.Unlock()
	return chains, nil
}

func (c *cachingCA) verify(cert *x509.Certificate, t time.Time) ([][]*x509.Certificate, error) {
	c.anchorOnce.Do(c.prepareAnchor)
	if c.anchor != nil && c.caValidAt(t) && validAt(c.fca.Root, t) && validAt(c.fca.Intermediates[0], t) {
		chains, err := cert.Verify(x509.VerifyOptions{
			CurrentTime: t,
			Roots:       c.anchor,
			KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		})
		if err == nil {
			for i := range chains {
				chains[i] = append(chains[i], c.fca.Root)
			}
			return chains, nil
		}
	}
	return c.inner.Verify(cert, t)
}

// caValidAt repeats the wrapped Fulcio CA's own validity-period check.
func (c *cachingCA) caValidAt(t time.Time) bool {
	fca, ok := c.inner.(*root.FulcioCertificateAuthority)
	if !ok {
		return false // unknown CA type: never answer from the cache
	}
	if !fca.ValidityPeriodStart.IsZero() && t.Before(fca.ValidityPeriodStart) {
		return false
	}
	if !fca.ValidityPeriodEnd.IsZero() && t.After(fca.ValidityPeriodEnd) {
		return false
	}
	return true
}

func (c *cachingCA) prepareAnchor() {
	fca, ok := c.inner.(*root.FulcioCertificateAuthority)
	if !ok || fca.Root == nil || len(fca.Intermediates) != 1 {
		return
	}
	inter, rt := fca.Intermediates[0], fca.Root
	if hasNameConstraints(inter) || hasNameConstraints(rt) {
		return
	}
	// Checked for an intermediate in a full chain; verifying the
	// intermediate on its own below would not check it.
	if !inter.BasicConstraintsValid || !inter.IsCA {
		return
	}
	if rt.BasicConstraintsValid && rt.MaxPathLen == 0 && rt.MaxPathLenZero {
		return // the root allows no intermediate
	}
	// Check intermediate -> root once, at a time both are valid.
	t0 := inter.NotBefore
	if rt.NotBefore.After(t0) {
		t0 = rt.NotBefore
	}
	roots := x509.NewCertPool()
	roots.AddCert(rt)
	if _, err := inter.Verify(x509.VerifyOptions{
		CurrentTime: t0,
		Roots:       roots,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}); err != nil {
		return
	}
	c.anchor = x509.NewCertPool()
	c.anchor.AddCert(inter)
	c.fca = fca
}

func hasNameConstraints(c *x509.Certificate) bool {
	return c.PermittedDNSDomainsCritical || len(c.PermittedDNSDomains) > 0 || len(c.ExcludedDNSDomains) > 0 ||
		len(c.PermittedIPRanges) > 0 || len(c.ExcludedIPRanges) > 0 ||
		len(c.PermittedEmailAddresses) > 0 || len(c.ExcludedEmailAddresses) > 0 ||
		len(c.PermittedURIDomains) > 0 || len(c.ExcludedURIDomains) > 0 ||
		len(c.UnhandledCriticalExtensions) > 0
}

func validAt(c *x509.Certificate, t time.Time) bool {
	return !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

func chainValidAt(chain []*x509.Certificate, t time.Time) bool {
	for _, c := range chain {
		if !validAt(c, t) {
			return false
		}
	}
	return len(chain) > 0
}
