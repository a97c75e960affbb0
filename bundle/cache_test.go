package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// genBase is the reference time of the generated chains.
var genBase = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// The times every generated chain is verified at, in this order: the
// first answer fills the caches, the later ones are answered from them
// where the cache says it can (a leaf seen before, the intermediate
// anchor), before the leaf's, the intermediate's or the CA's window
// closes.
var genTimes = []time.Duration{0, 2 * time.Hour, -2 * time.Hour, 12 * time.Hour, 3 * 24 * time.Hour, -3 * 24 * time.Hour, 0}

var (
	oidPolicyConstraints = asn1.ObjectIdentifier{2, 5, 29, 36}
	oidInhibitAnyPolicy  = asn1.ObjectIdentifier{2, 5, 29, 54}
	oidPolicyMappings    = asn1.ObjectIdentifier{2, 5, 29, 33}
	oidAnyPolicy         = asn1.ObjectIdentifier{2, 5, 29, 32, 0}
	policyP              = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1}
	policyQ              = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}
)

// chainSpec is one generated chain: templates for a root, one
// intermediate and a code-signing leaf (valid from genBase-10d/-5d/-1d to
// +10d/+5d/+1d), each changed by its function, and how the trusted root
// lists the CA.
type chainSpec struct {
	name               string
	root, inter, leaf  func(*x509.Certificate)
	caStart, caEnd     time.Duration           // the CA's validity period in the trusted root, when non-zero
	listOtherRoot      bool                    // the trusted root names another root (same name, other key): the chain's root is no longer trusted
	leafByOtherKey     bool                    // the leaf names the intermediate as issuer but is signed by another key
	leafIsIntermediate bool                    // the certificate verified is the intermediate itself
	leafByRoot         bool                    // the leaf is issued by the root directly
	upper              func(*x509.Certificate) // when set, a second intermediate between the root and the intermediate, changed by it
	want               bool                    // plain sigstore-go's verdict at genBase (a premise, checked)
}

func policyExt(t *testing.T, oid asn1.ObjectIdentifier, critical bool, v any) func(*x509.Certificate) {
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *x509.Certificate) {
		c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: oid, Critical: critical, Value: der})
	}
}

// requireExplicitPolicyZero is a policyConstraints extension with
// requireExplicitPolicy 0: SEQUENCE { [0] IMPLICIT INTEGER 0 }.
func requireExplicitPolicyZero(c *x509.Certificate) {
	c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: oidPolicyConstraints, Critical: true, Value: []byte{0x30, 0x03, 0x80, 0x01, 0x00}})
}

func policies(oids ...asn1.ObjectIdentifier) func(*x509.Certificate) {
	return func(c *x509.Certificate) {
		for _, o := range oids {
			ints := make([]uint64, len(o))
			for i, n := range o {
				ints[i] = uint64(n)
			}
			oid, err := x509.OIDFromInts(ints)
			if err != nil {
				panic(err)
			}
			c.Policies = append(c.Policies, oid)
		}
	}
}

func all(fs ...func(*x509.Certificate)) func(*x509.Certificate) {
	return func(c *x509.Certificate) {
		for _, f := range fs {
			f(c)
		}
	}
}

func chainSpecs(t *testing.T) []chainSpec {
	at := func(d time.Duration) time.Time { return genBase.Add(d) }
	noteBefore := func(d time.Duration) func(*x509.Certificate) {
		return func(c *x509.Certificate) { c.NotBefore = at(d) }
	}
	notAfter := func(d time.Duration) func(*x509.Certificate) {
		return func(c *x509.Certificate) { c.NotAfter = at(d) }
	}
	eku := func(u ...x509.ExtKeyUsage) func(*x509.Certificate) {
		return func(c *x509.Certificate) { c.ExtKeyUsage = u }
	}
	critical := func(c *x509.Certificate) {
		c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 9}, Critical: true, Value: []byte{0x05, 0x00}})
	}
	type mapping struct{ Issuer, Subject asn1.ObjectIdentifier }
	return []chainSpec{
		{name: "good", want: true},
		{name: "intermediate expires after first use", inter: notAfter(time.Hour), want: true},
		{name: "intermediate expired", inter: notAfter(-time.Minute)},
		{name: "intermediate not yet valid", inter: noteBefore(time.Minute)},
		{name: "root expires after first use", root: notAfter(time.Hour), want: true},
		{name: "root expired", root: notAfter(-time.Minute)},
		{name: "root not yet valid", root: noteBefore(time.Minute)},
		{name: "leaf expired", leaf: notAfter(-time.Minute)},
		{name: "leaf expires after first use", leaf: notAfter(time.Hour), want: true},
		{name: "CA window ends after first use", caEnd: time.Hour, want: true},
		{name: "CA window not started", caStart: time.Minute},
		{name: "CA window open", caStart: -time.Hour, caEnd: time.Hour, want: true},
		{name: "root path length 0", root: func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = 0, true }},
		{name: "root path length 1", root: func(c *x509.Certificate) { c.MaxPathLen = 1 }, want: true},
		{name: "intermediate path length unset", inter: func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = -1, false }, want: true},
		{name: "intermediate not a CA", inter: func(c *x509.Certificate) { c.IsCA, c.MaxPathLen, c.MaxPathLenZero = false, -1, false }},
		{name: "intermediate without basic constraints", inter: func(c *x509.Certificate) {
			c.BasicConstraintsValid, c.IsCA, c.MaxPathLen, c.MaxPathLenZero = false, false, 0, false
		}},
		{name: "intermediate key usage without certSign", inter: func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature }},
		{name: "leaf EKU serverAuth", leaf: eku(x509.ExtKeyUsageServerAuth)},
		{name: "leaf without EKU", leaf: eku(), want: true},
		{name: "intermediate EKU serverAuth", inter: eku(x509.ExtKeyUsageServerAuth)},
		{name: "intermediate EKU any", inter: eku(x509.ExtKeyUsageAny), want: true},
		{name: "root EKU serverAuth", root: eku(x509.ExtKeyUsageServerAuth)},
		{name: "root EKU codeSigning", root: eku(x509.ExtKeyUsageCodeSigning), want: true},
		{name: "intermediate permits other URI domain", inter: func(c *x509.Certificate) { c.PermittedURIDomains = []string{"example.org"} }},
		{name: "intermediate permits the leaf's URI domain", inter: func(c *x509.Certificate) { c.PermittedURIDomains = []string{"example.com"} }, want: true},
		{name: "root excludes the leaf's URI domain", root: func(c *x509.Certificate) { c.ExcludedURIDomains = []string{"example.com"} }},
		{name: "intermediate permits DNS only, critical", inter: func(c *x509.Certificate) {
			c.PermittedDNSDomains, c.PermittedDNSDomainsCritical = []string{"example.com"}, true
		}, want: true},
		{name: "intermediate requires explicit policy, leaf has none", inter: requireExplicitPolicyZero},
		{name: "intermediate requires explicit policy, policies match", inter: all(requireExplicitPolicyZero, policies(policyP)), leaf: policies(policyP), want: true},
		{name: "intermediate requires explicit policy, policies differ", inter: all(requireExplicitPolicyZero, policies(policyP)), leaf: policies(policyQ)},
		{name: "leaf requires explicit policy, intermediate's differs", inter: policies(policyP), leaf: all(requireExplicitPolicyZero, policies(policyQ))},
		{name: "leaf requires explicit policy, intermediate's matches", inter: policies(policyP), leaf: all(requireExplicitPolicyZero, policies(policyP)), want: true},
		{name: "intermediate policies without constraints", inter: policies(policyP), leaf: policies(policyQ), want: true},
		{name: "intermediate maps anyPolicy", inter: all(policies(oidAnyPolicy), policyExt(t, oidPolicyMappings, true, []mapping{{oidAnyPolicy, policyP}})), leaf: policies(policyP)},
		{name: "intermediate inhibits anyPolicy and requires explicit policy", inter: all(policies(oidAnyPolicy), requireExplicitPolicyZero, policyExt(t, oidInhibitAnyPolicy, true, 0)), leaf: policies(oidAnyPolicy)},
		{name: "root requires explicit policy (a trust anchor's is not processed)", root: requireExplicitPolicyZero, want: true},
		{name: "intermediate unknown critical extension", inter: critical},
		{name: "root unknown critical extension", root: critical},
		{name: "leaf unknown critical extension", leaf: critical},
		{name: "root no longer in the trusted root", listOtherRoot: true},
		{name: "leaf signed by another key", leafByOtherKey: true},
		{name: "leaf is the intermediate", leafIsIntermediate: true, want: true},
		{name: "leaf issued by the root", leafByRoot: true, want: true},
		{name: "two intermediates, root path length 1", upper: func(*x509.Certificate) {}},
		{name: "two intermediates, root path length unset", root: func(c *x509.Certificate) { c.MaxPathLen = -1 }, upper: func(*x509.Certificate) {}, want: true},
		{name: "two intermediates, upper path length 0", root: func(c *x509.Certificate) { c.MaxPathLen = -1 }, upper: func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = 0, true }},
		{name: "two intermediates, upper expires after first use", root: func(c *x509.Certificate) { c.MaxPathLen = -1 }, upper: notAfter(time.Hour), want: true},
		{name: "two intermediates, upper requires explicit policy", root: func(c *x509.Certificate) { c.MaxPathLen = -1 }, upper: all(requireExplicitPolicyZero, policies(policyP)), inter: policies(policyP), leaf: policies(policyQ)},
	}
}

func genCert(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// genChain builds s's chain: the trusted root (one CA) and the
// certificate to verify, and a well-formed leaf under the same
// intermediate, verified first to warm the caches.
func genChain(t *testing.T, s chainSpec) (tr *root.TrustedRoot, leaf, warm *x509.Certificate) {
	t.Helper()
	apply := func(f func(*x509.Certificate), c *x509.Certificate) *x509.Certificate {
		if f != nil {
			f(c)
		}
		return c
	}
	rk, ik, lk := genKey(t), genKey(t), genKey(t)
	rt := apply(s.root, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gen root"},
		NotBefore: genBase.Add(-10 * 24 * time.Hour), NotAfter: genBase.Add(10 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 1, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign})
	rootCert := genCert(t, rt, rt, rk.Public(), rk)
	it := apply(s.inter, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "gen intermediate"},
		NotBefore: genBase.Add(-5 * 24 * time.Hour), NotAfter: genBase.Add(5 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
	issuer, issuerKey := rootCert, rk
	var upper *x509.Certificate
	if s.upper != nil {
		uk := genKey(t)
		ut := &x509.Certificate{SerialNumber: big.NewInt(5), Subject: pkix.Name{CommonName: "gen upper intermediate"},
			NotBefore: genBase.Add(-5 * 24 * time.Hour), NotAfter: genBase.Add(5 * 24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, MaxPathLen: -1, KeyUsage: x509.KeyUsageCertSign}
		s.upper(ut)
		upper = genCert(t, ut, rootCert, uk.Public(), rk)
		issuer, issuerKey = upper, uk
	}
	inter := genCert(t, it, issuer, ik.Public(), issuerKey)
	leafTmpl := func(serial int64) *x509.Certificate {
		u, _ := url.Parse("https://example.com/ci/workflow")
		return &x509.Certificate{SerialNumber: big.NewInt(serial), NotBefore: genBase.Add(-24 * time.Hour), NotAfter: genBase.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, URIs: []*url.URL{u}}
	}
	warm = genCert(t, leafTmpl(4), inter, lk.Public(), ik)
	switch {
	case s.leafIsIntermediate:
		leaf = inter
	case s.leafByRoot:
		leaf = genCert(t, apply(s.leaf, leafTmpl(3)), rootCert, lk.Public(), rk)
	case s.leafByOtherKey:
		// The forger's own "intermediate": same subject, another key.
		fk := genKey(t)
		fake := genCert(t, it, it, fk.Public(), fk)
		leaf = genCert(t, apply(s.leaf, leafTmpl(3)), fake, lk.Public(), fk)
	default:
		leaf = genCert(t, apply(s.leaf, leafTmpl(3)), inter, lk.Public(), ik)
	}
	listed := rootCert
	if s.listOtherRoot {
		ok := genKey(t)
		listed = genCert(t, rt, rt, ok.Public(), ok)
	}
	ca := &root.FulcioCertificateAuthority{Root: listed, Intermediates: []*x509.Certificate{inter}}
	if upper != nil {
		ca.Intermediates = append(ca.Intermediates, upper)
	}
	if s.caStart != 0 {
		ca.ValidityPeriodStart = genBase.Add(s.caStart)
	}
	if s.caEnd != 0 {
		ca.ValidityPeriodEnd = genBase.Add(s.caEnd)
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{ca}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr, leaf, warm
}

// TestCacheDifferential: over generated chains, sigstore-go's leaf
// certificate verification (VerifyLeafCertificate, what it runs for every
// certificate-signed bundle) gives the same verdict with the caching
// material as with the plain trusted root, at every time of genTimes, in
// order, after the caches were warmed by a well-formed leaf of the same
// intermediate. The cases that should verify do.
func TestCacheDifferential(t *testing.T) {
	for _, s := range chainSpecs(t) {
		t.Run(s.name, func(t *testing.T) {
			tr, leaf, warm := genChain(t, s)
			cached := newCachingMaterial(tr)
			sgverify.VerifyLeafCertificate(genBase, warm, cached)
			for i, d := range genTimes {
				at := genBase.Add(d)
				_, errPlain := sgverify.VerifyLeafCertificate(at, leaf, tr)
				_, errCached := sgverify.VerifyLeafCertificate(at, leaf, cached)
				if i == 0 && (errPlain == nil) != s.want {
					t.Fatalf("premise: plain sigstore-go at the base time: %v, want verified=%v", errPlain, s.want)
				}
				if (errPlain == nil) != (errCached == nil) {
					t.Errorf("at base%+v: plain %v, cached %v", d, errPlain, errCached)
				}
			}
		})
	}
}

// TestCacheShortcutTaken: the intermediate-as-anchor shortcut is prepared
// for an ordinary chain (the differential test would pass with no
// shortcut at all) and refused for an intermediate carrying policy
// constraints.
func TestCacheShortcutTaken(t *testing.T) {
	for _, s := range []chainSpec{{name: "good"}, {name: "policy", inter: requireExplicitPolicyZero}} {
		tr, _, warm := genChain(t, s)
		c := newCachingMaterial(tr).cas[0].(*cachingCA)
		c.Verify(warm, genBase)
		if got, want := c.anchor != nil, s.name == "good"; got != want {
			t.Errorf("%s: shortcut prepared %v, want %v", s.name, got, want)
		}
	}
}
