package bundle

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// maxCachedLeaves bounds the leaf-certificate cache of one Verifier.
const maxCachedLeaves = 1 << 14

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

// cachingCA is a CertificateAuthority that gives the same verdicts as the
// one it wraps (sigstore-go's Fulcio CA: crypto/x509 from the leaf to the
// CA's root, code-signing EKU, the CA's validity period), with less work.
// Both speed-ups accept only what the wrapped CA accepts at the same time:
//
//   - A leaf certificate already validated (same DER) reuses the chains
//     x509 built for it. Of everything x509 checks on a chain, only the
//     validity windows depend on the time, so they (and the CA's validity
//     period) are checked again at the new time; signatures, basic and
//     name constraints, path lengths, key usages and policies do not
//     change. A chain that no longer holds sends the leaf to full
//     validation.
//   - For a Fulcio CA with one intermediate, the intermediate is checked
//     against the root once; leaves are then validated with the
//     intermediate as the anchor, and the validity windows of the
//     intermediate, the root and the CA are checked at the verification
//     time. With the intermediate as the anchor, x509 no longer checks
//     what the root imposes on the chain and no longer runs the RFC 5280
//     policy algorithm over the intermediate, so the shortcut is taken
//     only where that cannot change the verdict (see anchorable and
//     shortcutLeaf): the intermediate is a CA, the root allows an
//     intermediate, neither carries an extension outside a short list
//     (no name constraints, policy constraints, policy mappings or
//     inhibitAnyPolicy), and the leaf has no policy constraints. The code-
//     signing EKU is checked on intermediate and root once and on leaf and
//     intermediate at each verification, which for one usage is x509's
//     check over the whole chain.
//
// Anything the shortcut cannot validate goes to the wrapped CA, so a
// rejection is always the wrapped CA's verdict. TestCacheDifferential
// checks both directions over generated chains.
type cachingCA struct {
	inner root.CertificateAuthority

	anchorOnce sync.Once
	anchor     *x509.CertPool // the intermediate, when the shortcut applies
	fca        *root.FulcioCertificateAuthority

	mu     sync.Mutex
	leaves map[[32]byte][][]*x509.Certificate

	// noLeaves turns the leaf cache off; set by benchmarks to measure
	// batches of distinct certificates.
	noLeaves bool
}

func (c *cachingCA) Verify(cert *x509.Certificate, t time.Time) ([][]*x509.Certificate, error) {
	key := sha256.Sum256(cert.Raw)
	c.mu.Lock()
	cached := c.leaves[key]
	c.mu.Unlock()
	if c.noLeaves {
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
	if c.anchor != nil && shortcutLeaf(cert) && c.caValidAt(t) && validAt(c.fca.Root, t) && validAt(c.fca.Intermediates[0], t) {
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
	if !anchorable(inter) || !anchorable(rt) {
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

// anchorExtensions are the extensions a CA certificate may carry for the
// intermediate-as-anchor shortcut: none of them makes x509's verdict on a
// leaf depend on whether the chain is checked from the root or from the
// intermediate. Left out on purpose: name constraints (checked over the
// whole chain), and policy constraints, policy mappings and
// inhibitAnyPolicy (the RFC 5280 policy algorithm processes the
// intermediate only when the root is the anchor). Any other extension,
// known or not, disables the shortcut.
var anchorExtensions = []asn1.ObjectIdentifier{
	{2, 5, 29, 14},              // subject key identifier
	{2, 5, 29, 15},              // key usage
	{2, 5, 29, 17},              // subject alternative name
	{2, 5, 29, 19},              // basic constraints
	{2, 5, 29, 31},              // CRL distribution points
	{2, 5, 29, 32},              // certificate policies (inert without the three left out, see shortcutLeaf)
	{2, 5, 29, 35},              // authority key identifier
	{2, 5, 29, 37},              // extended key usage
	{1, 3, 6, 1, 5, 5, 7, 1, 1}, // authority information access
}

// anchorable reports whether the CA certificate c carries only
// anchorExtensions (and x509 understood all of its critical ones).
func anchorable(c *x509.Certificate) bool {
	if len(c.UnhandledCriticalExtensions) > 0 {
		return false
	}
	for _, e := range c.Extensions {
		if !slices.ContainsFunc(anchorExtensions, e.Id.Equal) {
			return false
		}
	}
	return true
}

// oidPolicyConstraintsExt is the policyConstraints extension.
var oidPolicyConstraintsExt = asn1.ObjectIdentifier{2, 5, 29, 36}

// shortcutLeaf reports whether leaf may be validated from the intermediate:
// a leaf's requireExplicitPolicy makes the policy algorithm's verdict
// depend on the intermediate's policies, which the shortcut does not
// process.
func shortcutLeaf(leaf *x509.Certificate) bool {
	return !slices.ContainsFunc(leaf.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidPolicyConstraintsExt) })
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
