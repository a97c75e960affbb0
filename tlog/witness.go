package tlog

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// ErrMalformedPolicy is returned by ParseWitnessPolicy for text that is
// not a witness policy.
var ErrMalformedPolicy = errors.New("malformed witness policy")

// MaxPolicySize bounds a witness policy's text.
const MaxPolicySize = 64 << 10

// maxPolicyNames bounds the witnesses and groups of one policy.
const maxPolicyNames = 1024

// WitnessPolicy is a witness policy in the Sigsum policy text format:
// witnesses with their cosignature/v1 Ed25519 keys, groups of them with a
// threshold, and the quorum a checkpoint's cosignatures must meet. Its
// zero value is not a policy; use ParseWitnessPolicy.
type WitnessPolicy struct {
	// Text is the policy as given.
	Text []byte

	logs      []string // log names (vkey names) the quorum applies to; empty: every log
	witnesses map[string]note.Verifier
	groups    map[string]*policyGroup
	order     []string // witness names in the order defined
	quorum    string   // a witness or group name, or "none"
}

type policyGroup struct {
	k       int
	members []string
}

// ParseWitnessPolicy parses a policy: lines "log <vkey> [url]",
// "witness <name> <vkey> [url]", "group <name> <k|all|any> <member>...",
// "quorum <name|none>", blank lines and comments from '#'. Names are
// defined once, before use; vkeys are C2SP signed-note verifier keys of
// type 0x04 (cosignature/v1 Ed25519; type 0x01 Ed25519 keys are read as
// such). Exactly one quorum line is required. When log lines are given,
// the quorum applies to the checkpoints of those logs (by name) only.
// Errors wrap ErrMalformedPolicy and name the line.
func ParseWitnessPolicy(text []byte) (*WitnessPolicy, error) {
	if len(text) > MaxPolicySize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedPolicy, MaxPolicySize)
	}
	if !utf8.Valid(text) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrMalformedPolicy)
	}
	p := &WitnessPolicy{Text: slices.Clone(text), witnesses: map[string]note.Verifier{}, groups: map[string]*policyGroup{}}
	defined := func(name string) bool {
		_, w := p.witnesses[name]
		_, g := p.groups[name]
		return w || g
	}
	for i, line := range strings.Split(string(text), "\n") {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: line %d: %s", ErrMalformedPolicy, i+1, fmt.Sprintf(format, args...))
		}
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(p.witnesses)+len(p.groups)+len(p.logs) >= maxPolicyNames {
			return nil, bad("more than %d names", maxPolicyNames)
		}
		switch f[0] {
		case "log":
			if len(f) < 2 || len(f) > 3 {
				return nil, bad("want \"log <vkey> [url]\"")
			}
			name, _, err := parseVKey(f[1])
			if err != nil {
				return nil, bad("log key: %v", err)
			}
			p.logs = append(p.logs, name)
		case "witness":
			if len(f) < 3 || len(f) > 4 {
				return nil, bad("want \"witness <name> <vkey> [url]\"")
			}
			if err := checkPolicyName(f[1]); err != nil {
				return nil, bad("%v", err)
			}
			if defined(f[1]) {
				return nil, bad("%q is defined twice", f[1])
			}
			_, typ, err := parseVKey(f[2])
			if err != nil {
				return nil, bad("witness key: %v", err)
			}
			if typ != 0x04 && typ != 0x01 {
				return nil, bad("witness key of type 0x%02x, want 0x04 (cosignature/v1 Ed25519)", typ)
			}
			v, err := fnote.NewVerifierForCosignatureV1(f[2])
			if err != nil {
				return nil, bad("witness key: %v", err)
			}
			p.witnesses[f[1]] = v
			p.order = append(p.order, f[1])
		case "group":
			if len(f) < 4 {
				return nil, bad("want \"group <name> <k|all|any> <member>...\"")
			}
			if err := checkPolicyName(f[1]); err != nil {
				return nil, bad("%v", err)
			}
			if defined(f[1]) {
				return nil, bad("%q is defined twice", f[1])
			}
			g := &policyGroup{members: f[3:]}
			seen := map[string]bool{}
			for _, m := range g.members {
				if !defined(m) {
					return nil, bad("group member %q is not defined before", m)
				}
				if seen[m] {
					return nil, bad("group member %q is listed twice", m)
				}
				seen[m] = true
			}
			switch f[2] {
			case "all":
				g.k = len(g.members)
			case "any":
				g.k = 1
			default:
				k, err := strconv.Atoi(f[2])
				if err != nil || k < 1 || k > len(g.members) || f[2] != strconv.Itoa(k) {
					return nil, bad("threshold %q: want all, any or 1 to %d", f[2], len(g.members))
				}
				g.k = k
			}
			p.groups[f[1]] = g
		case "quorum":
			if len(f) != 2 {
				return nil, bad("want \"quorum <name|none>\"")
			}
			if p.quorum != "" {
				return nil, bad("a second quorum line")
			}
			if f[1] != "none" && !defined(f[1]) {
				return nil, bad("quorum %q is not defined before", f[1])
			}
			p.quorum = f[1]
		default:
			return nil, bad("unknown keyword %q", f[0])
		}
	}
	if p.quorum == "" {
		return nil, fmt.Errorf("%w: no quorum line", ErrMalformedPolicy)
	}
	return p, nil
}

func checkPolicyName(name string) error {
	if name == "none" || name == "all" || name == "any" {
		return fmt.Errorf("%q is a reserved name", name)
	}
	if len(name) > 128 {
		return fmt.Errorf("name longer than 128 bytes")
	}
	return nil
}

// parseVKey reads a C2SP vkey "<name>+<hex key hash>+<base64(type || key)>"
// and returns its name and key type. It checks the key hash for the types
// whose hash is SHA-256(name || "\n" || type || key).
func parseVKey(vkey string) (name string, typ byte, err error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.Strict().DecodeString(key64)
	if !ok1 || !ok2 || name == "" || len(hash16) != 8 || err != nil || len(key) < 2 {
		return "", 0, fmt.Errorf("%q is not a vkey <name>+<key hash>+<base64 key>", vkey)
	}
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil || strings.ToLower(hash16) != hash16 {
		return "", 0, fmt.Errorf("vkey %q: key hash is not 8 lowercase hex digits", name)
	}
	switch key[0] {
	case 0x01, 0x04:
		id := noteKeyID(name, key)
		if uint32(h) != binary.BigEndian.Uint32(id[:4]) {
			return "", 0, fmt.Errorf("vkey %q: key hash does not match the key", name)
		}
	}
	return name, key[0], nil
}

// Check returns the witnesses (by policy name, sorted) whose valid
// cosignatures are on n, and ErrNoQuorum (wrapped, naming the quorum) if
// they do not meet the quorum. A policy with quorum none, or with log
// lines none of which names n's log, accepts every note.
func (p *WitnessPolicy) Check(n *Note) (cosigners []string, err error) {
	ok := map[string]bool{}
	for _, name := range p.order {
		v := p.witnesses[name]
		for _, s := range n.Sigs {
			if s.Name == v.Name() && binary.BigEndian.Uint32(s.Hint[:]) == v.KeyHash() && v.Verify(n.Text, s.Sig) {
				ok[name] = true
				cosigners = append(cosigners, name)
				break
			}
		}
	}
	slices.Sort(cosigners)
	if p.quorum == "none" || len(p.logs) > 0 && !slices.Contains(p.logs, n.Host()) {
		return cosigners, nil
	}
	if !p.met(p.quorum, ok) {
		return cosigners, fmt.Errorf("%w: quorum %q of the witness policy is not met by the checkpoint of %q at size %d (cosigned by %d known witnesses)", ErrNoQuorum, p.quorum, n.Origin, n.Size, len(cosigners))
	}
	return cosigners, nil
}

func (p *WitnessPolicy) met(name string, ok map[string]bool) bool {
	g, isGroup := p.groups[name]
	if !isGroup {
		return ok[name]
	}
	n := 0
	for _, m := range g.members {
		if p.met(m, ok) {
			n++
		}
	}
	return n >= g.k
}

// Quorum describes the policy's quorum for reports: "none", or the name
// of the witness or group.
func (p *WitnessPolicy) Quorum() string {
	return p.quorum
}
