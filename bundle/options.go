package bundle

// optionInputs is what decides which checks VerifyBundle asks of
// sigstore-go under one trust source.
type optionInputs struct {
	sourceTSA  bool // the trust source has timestamping authorities
	sourceLogs bool // the trust source has transparency logs
	timestamps bool // the bundle carries RFC 3161 timestamps
	tlog       bool // the bundle has log entries with an inclusion proof or promise
	promise    bool // the bundle has an inclusion promise (a signed entry timestamp)
	key        bool // the policy is a public key, not a certificate identity
	ignoreTlog bool // Policy.InsecureIgnoreTlogUnsafe
	signedTS   bool // Policy.UseSignedTimestamps
}

// checks are the sigstore-go verifier options VerifyBundle uses: RFC 3161
// timestamps (tsa), log entries (tlog), their signed entry timestamps
// (set), and the signature at the current time (now).
type checks struct {
	tsa, tlog, set, now bool
}

// verifierOptions is VerifyBundle's option truth table:
//
//   - RFC 3161 timestamps are checked when the bundle has some and the
//     source has timestamping authorities to check them against.
//   - Log entries are checked when the source has logs, their promises
//     (SETs) when the bundle has one. --insecure-ignore-tlog with a key
//     and no log entries, or no logs in the source, checks the signature
//     at the current time instead.
//   - A key does not expire: with log entries checked but no signed time
//     (no SET, no checked timestamp), the signature is checked at the
//     current time.
//   - A certificate with no log entries, under --insecure-ignore-tlog and
//     --use-signed-timestamps (cosign's flags; GitHub's private instance
//     logs nothing), is checked on its RFC 3161 timestamps alone: no log
//     check. Without a timestamp the source can check, nothing dates the
//     signature, and VerifyBundle refuses it.
//
// What remains without a time to check the signature at (log entries
// checked, no SET, no timestamp, a certificate) or with log entries that
// cannot be checked is refused by VerifyBundle, not here.
func verifierOptions(in optionInputs) checks {
	var c checks
	c.tsa = in.sourceTSA && in.timestamps
	keyWaiver := in.ignoreTlog && in.key
	certWaiver := in.ignoreTlog && in.signedTS && !in.key
	switch {
	case keyWaiver && !in.tlog:
		c.now = true
	case certWaiver && !in.tlog:
		// Only the RFC 3161 timestamps (c.tsa) date the signature.
	case in.sourceLogs:
		c.tlog = true
		c.set = in.promise
	case keyWaiver:
		// No log key to check the entries against (the key alone is
		// trusted): they are ignored, as the flag says, and the
		// signature is checked at the current time.
		c.now = true
	}
	if c.tlog && !c.set && !c.tsa && in.key {
		// A key does not expire: the log entries (their inclusion
		// proofs) are checked, and the signature at the current time.
		c.now = true
	}
	return c
}
