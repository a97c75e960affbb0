package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"
)

// Limits on untrusted metadata read from files. Artifacts are streamed and
// have no limit.
const (
	// MaxBundleSize bounds a bundle file.
	MaxBundleSize = 32 << 20
	// MaxSignatureSize bounds a detached .sig or .att file.
	MaxSignatureSize = 32 << 20
)

// FileError says that a file of the verification could not be read: the
// artifact, or the evidence ("bundle", "signature"). Unwrap gives the
// cause (fs.ErrNotExist, say).
type FileError struct {
	// What is "artifact", "bundle" or "signature".
	What string
	Name string
	Err  error
}

// Error quotes the name once: "reading bundle "b.json": no such file or
// directory", not Go's "open b.json: no such file or directory".
func (e *FileError) Error() string { return fmt.Sprintf("reading %s %q: %v", e.What, e.Name, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// fileErr is a *FileError for the file named name.
func fileErr(what, name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &FileError{What: what, Name: name, Err: err}
}

// ReadLimited reads all of r, failing if it is longer than limit. The
// error for an over-long input wraps ErrRejected.
func ReadLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, Rejectf(ReasonTooLarge, "%s is larger than %d bytes", what, limit)
	}
	return data, nil
}

// ParseBundle parses a Sigstore bundle in its JSON form. Anything that is
// not a well-formed bundle of a known version is a rejection.
func ParseBundle(data []byte) (*sgbundle.Bundle, error) {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, Rejectf(ReasonMalformedBundle, "not a valid Sigstore bundle: %s", notBundleReason(data, err))
	}
	if _, err := b.Version(); err != nil {
		return nil, Rejectf(ReasonMalformedBundle, "not a valid Sigstore bundle: %v", err)
	}
	return &b, nil
}

// notBundleReason says why data did not parse as a bundle: what it looks
// like when it is not JSON at all (an artifact given as the bundle, a
// detached signature), else the parser's error.
func notBundleReason(data []byte, err error) string {
	switch SniffEvidence(data) {
	case FormNotText:
		return fmt.Sprintf("the file is %s data, not JSON", ContentKind(data))
	case FormSignature:
		return "the file is base64 text (a detached signature?), not JSON"
	}
	return cleanErr(err)
}

// ParseBundleUnchecked parses the JSON form of a bundle without
// sigstore-go's validation, so that a bundle which reads but is not valid
// (no checkpoint, an unknown version, an entry body that does not match)
// can still be described by Inspect. Never verify what it returns. A file
// that is not even the bundle's JSON form is a rejection.
func ParseBundleUnchecked(data []byte) (*sgbundle.Bundle, error) {
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(data, pb); err != nil {
		return nil, Rejectf(ReasonMalformedBundle, "not a valid Sigstore bundle: %s", notBundleReason(data, err))
	}
	return &sgbundle.Bundle{Bundle: pb}, nil
}

// ReadBundleFile reads and parses the bundle at path. An unreadable file is
// a plain error; a malformed one a rejection.
func ReadBundleFile(path string) (*sgbundle.Bundle, error) {
	b, err := readBundleFile(path)
	if ReasonOf(err) == ReasonMalformedBundle {
		return nil, fmt.Errorf("bundle %q: %w", path, err)
	}
	return b, err
}

// readBundleFile is ReadBundleFile without the file's name before the
// message of a bundle that does not parse.
func readBundleFile(path string) (*sgbundle.Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileErr("bundle", path, err)
	}
	defer f.Close()
	data, err := ReadLimited(f, MaxBundleSize, fmt.Sprintf("bundle %q", path))
	if err != nil && !errors.Is(err, ErrRejected) {
		return nil, fileErr("bundle", path, err)
	}
	if err != nil {
		return nil, err
	}
	return ParseBundle(data)
}

// DigestAlgorithms returns the algorithms the artifact must be hashed with
// for b: the message digest's algorithm for a message signature, the
// in-toto subjects' algorithms for a DSSE statement. The first is
// preferred; sha256 when the bundle names nothing airlock supports.
func DigestAlgorithms(b *sgbundle.Bundle) []string {
	if b == nil || b.Bundle == nil {
		return []string{"sha256"}
	}
	if ms := b.GetMessageSignature(); ms != nil {
		switch ms.GetMessageDigest().GetAlgorithm() {
		case protocommon.HashAlgorithm_SHA2_384:
			return []string{"sha384"}
		case protocommon.HashAlgorithm_SHA2_512:
			return []string{"sha512"}
		}
		return []string{"sha256"}
	}
	if env, err := b.Envelope(); err == nil {
		if st, err := env.Statement(); err == nil {
			var algs []string
			for _, s := range st.GetSubject() {
				for alg := range s.GetDigest() {
					if isSupported(alg) && !contains(algs, alg) {
						algs = append(algs, alg)
					}
				}
			}
			if contains(algs, "sha256") {
				return []string{"sha256"}
			}
			if len(algs) > 0 {
				return algs[:1]
			}
		}
	}
	return []string{"sha256"}
}

func isSupported(alg string) bool { return contains(supportedDigests, alg) }

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// cleanErr shortens protojson's and encoding/json's messages, which can
// carry control characters from the input.
func cleanErr(err error) string {
	var se *json.SyntaxError
	msg := err.Error()
	if errors.As(err, &se) {
		msg = fmt.Sprintf("JSON syntax error at offset %d", se.Offset)
	}
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
	msg = strings.TrimSpace(strings.Join(strings.Fields(msg), " "))
	// protojson quotes the offending value whole: a base64 timestamp or
	// certificate makes a line of kilobytes. Its start is enough.
	return longQuoted.ReplaceAllStringFunc(msg, func(q string) string {
		r := []rune(q)
		if len(r) < 122 {
			return q
		}
		return fmt.Sprintf("%s…\" (%d characters)", string(r[:41]), len(r)-2)
	})
}

var longQuoted = regexp.MustCompile(`"[^"]{120,}"`)
