//go:build tools

// Package tools pins rekor-tiles' POSIX server, which the tests run on
// 127.0.0.1 as a real Rekor v2. It is a module of its own so that the
// server's dependencies stay out of airlock's go.mod.
package tools

import _ "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix"
