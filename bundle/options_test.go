package bundle

import "testing"

// TestVerifierOptions is VerifyBundle's option truth table, one row per
// case it distinguishes.
func TestVerifierOptions(t *testing.T) {
	for _, row := range []struct {
		name string
		in   optionInputs
		want checks
	}{
		{"certificate, SET", optionInputs{sourceLogs: true, tlog: true, promise: true}, checks{tlog: true, set: true}},
		{"certificate, proof only (a Rekor v2 entry): no time (refused by VerifyBundle)", optionInputs{sourceLogs: true, tlog: true}, checks{tlog: true}},
		{"certificate, proof and RFC 3161", optionInputs{sourceLogs: true, sourceTSA: true, tlog: true, timestamps: true}, checks{tlog: true, tsa: true}},
		{"certificate, RFC 3161 but no TSA in the source", optionInputs{sourceLogs: true, tlog: true, timestamps: true}, checks{tlog: true}},
		{"certificate, TSA in the source but no RFC 3161", optionInputs{sourceLogs: true, sourceTSA: true, tlog: true, promise: true}, checks{tlog: true, set: true}},
		{"certificate, SET and RFC 3161", optionInputs{sourceLogs: true, sourceTSA: true, tlog: true, promise: true, timestamps: true}, checks{tlog: true, set: true, tsa: true}},
		{"certificate, no logs in the source (refused by VerifyBundle)", optionInputs{sourceTSA: true, tlog: true, timestamps: true}, checks{tsa: true}},
		{"certificate, --insecure-ignore-tlog does not apply", optionInputs{ignoreTlog: true, sourceLogs: true, tlog: true, promise: true}, checks{tlog: true, set: true}},
		{"certificate, --insecure-ignore-tlog, no entries", optionInputs{ignoreTlog: true, sourceLogs: true}, checks{tlog: true}},
		{"certificate, --insecure-ignore-tlog --use-signed-timestamps, no entries, RFC 3161", optionInputs{ignoreTlog: true, signedTS: true, sourceLogs: true, sourceTSA: true, timestamps: true}, checks{tsa: true}},
		{"certificate, --insecure-ignore-tlog --use-signed-timestamps, no entries, no logs in the source", optionInputs{ignoreTlog: true, signedTS: true, sourceTSA: true, timestamps: true}, checks{tsa: true}},
		{"certificate, --insecure-ignore-tlog --use-signed-timestamps, no entries, no TSA (refused by VerifyBundle)", optionInputs{ignoreTlog: true, signedTS: true, sourceLogs: true, timestamps: true}, checks{}},
		{"certificate, --insecure-ignore-tlog --use-signed-timestamps, entries still checked", optionInputs{ignoreTlog: true, signedTS: true, sourceLogs: true, sourceTSA: true, tlog: true, promise: true, timestamps: true}, checks{tlog: true, set: true, tsa: true}},
		{"certificate, --use-signed-timestamps alone, no entries", optionInputs{signedTS: true, sourceLogs: true, sourceTSA: true, timestamps: true}, checks{tlog: true, tsa: true}},
		{"key, --use-signed-timestamps changes nothing", optionInputs{key: true, signedTS: true, sourceLogs: true, tlog: true, promise: true}, checks{tlog: true, set: true}},
		{"key, SET", optionInputs{key: true, sourceLogs: true, tlog: true, promise: true}, checks{tlog: true, set: true}},
		{"key, proof only (a Rekor v2 entry: no SET, integrated time 0): now", optionInputs{key: true, sourceLogs: true, tlog: true}, checks{tlog: true, now: true}},
		{"key, proof and RFC 3161", optionInputs{key: true, sourceLogs: true, sourceTSA: true, tlog: true, timestamps: true}, checks{tlog: true, tsa: true}},
		{"key, no logs in the source (refused by VerifyBundle)", optionInputs{key: true, tlog: true}, checks{}},
		{"key, --insecure-ignore-tlog, no entries", optionInputs{key: true, ignoreTlog: true, sourceLogs: true}, checks{now: true}},
		{"key, --insecure-ignore-tlog, no entries, RFC 3161", optionInputs{key: true, ignoreTlog: true, sourceTSA: true, timestamps: true}, checks{now: true, tsa: true}},
		{"key, --insecure-ignore-tlog, entries, no logs in the source", optionInputs{key: true, ignoreTlog: true, tlog: true, promise: true}, checks{now: true}},
		{"key, --insecure-ignore-tlog, entries with SET", optionInputs{key: true, ignoreTlog: true, sourceLogs: true, tlog: true, promise: true}, checks{tlog: true, set: true}},
		{"key, --insecure-ignore-tlog, entries with proof only", optionInputs{key: true, ignoreTlog: true, sourceLogs: true, tlog: true}, checks{tlog: true, now: true}},
	} {
		if got := verifierOptions(row.in); got != row.want {
			t.Errorf("%s: %+v, want %+v", row.name, got, row.want)
		}
	}
}

// TestVerifierOptionsInvariants: over every input, what the table must
// never do.
func TestVerifierOptionsInvariants(t *testing.T) {
	for n := range 1 << 8 {
		bit := func(i int) bool { return n&(1<<i) != 0 }
		in := optionInputs{sourceTSA: bit(0), sourceLogs: bit(1), timestamps: bit(2), tlog: bit(3), promise: bit(3) && bit(4), key: bit(5), ignoreTlog: bit(6), signedTS: bit(7)}
		certWaived := in.ignoreTlog && in.signedTS && !in.key && !in.tlog
		c := verifierOptions(in)
		switch {
		case c.tsa != (in.sourceTSA && in.timestamps):
			t.Errorf("%+v: tsa %v", in, c.tsa)
		case c.set && !(c.tlog && in.promise):
			t.Errorf("%+v: SET checked without log entries or promise", in)
		case c.tlog && !in.sourceLogs:
			t.Errorf("%+v: log entries checked without logs", in)
		case c.now && !in.key:
			t.Errorf("%+v: a certificate checked at the current time", in)
		case !in.key && !certWaived && c.tlog != in.sourceLogs:
			t.Errorf("%+v: a certificate's log entries skipped", in)
		case certWaived && (c.tlog || c.set || c.now):
			t.Errorf("%+v: a certificate without log entries checked otherwise than on RFC 3161 timestamps", in)
		case in.tlog && in.sourceLogs && !c.tlog && !(in.key && in.ignoreTlog):
			t.Errorf("%+v: log entries the source can check were skipped", in)
		case in.key && !in.ignoreTlog && in.tlog && c.tlog != in.sourceLogs:
			t.Errorf("%+v: a key's log entries skipped without --insecure-ignore-tlog", in)
		case c.now && c.set:
			t.Errorf("%+v: both a SET and the current time", in)
		}
	}
}
