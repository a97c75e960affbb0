package rekorv2

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
)

// EntriesPath is where a Rekor v2 server takes new entries.
const EntriesPath = "/api/v2/log/entries"

// Limits and timeouts of a Submit.
const (
	// MaxResponseSize bounds the server's answer: the body it echoes
	// (MaxBodySize), a proof and a checkpoint, in protobuf JSON.
	MaxResponseSize = 2*MaxBodySize + MaxCheckpointSize + 64<<10
	// MaxErrorSize bounds how much of an error answer is read and kept.
	MaxErrorSize = 4 << 10
	// Timeout bounds one Submit when the context has no earlier deadline.
	// The server answers once the entry is in a published checkpoint: up to
	// its batch age plus its checkpoint interval (10 s by default).
	Timeout = 60 * time.Second
	// DialTimeout bounds connecting to the server.
	DialTimeout = 10 * time.Second
)

// ErrTransport is matched when the server could not be reached or its
// answer could not be read.
var ErrTransport = errors.New("rekor v2 server unreachable")

// ServerError is an answer with an error status: the server refused the
// entry or could not log it.
type ServerError struct {
	StatusCode int
	// Message is the start of the server's answer, control characters
	// removed.
	Message string
	// LogIndex is the index of the equal entry already in the log when the
	// server answered 409 Conflict with one, else -1.
	LogIndex int64
}

func (e *ServerError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("rekor v2 server answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("rekor v2 server answered %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Client submits entries to Rekor v2 logs.
type Client struct {
	// HTTPClient sends the requests. Nil means a client with DialTimeout
	// for connecting and Timeout for the whole exchange, no proxy.
	HTTPClient *http.Client
	// UserAgent is sent when not empty.
	UserAgent string
}

var defaultHTTPClient = &http.Client{
	Timeout: Timeout,
	Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: DialTimeout}).DialContext,
		TLSHandshakeTimeout:   DialTimeout,
		ResponseHeaderTimeout: Timeout,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
	},
	// A log that redirects a write is not the log the caller named.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Submit is (&Client{}).Submit.
func Submit(ctx context.Context, baseURL string, req *Request, logKey crypto.PublicKey, origin string) (*protorekor.TransparencyLogEntry, error) {
	return (&Client{}).Submit(ctx, baseURL, req, logKey, origin)
}

// Submit posts req to the log at baseURL and returns its entry once Check
// accepted it under logKey and origin. An empty origin means the host of
// baseURL, the origin sigstore-go expects of a log listed with that
// baseUrl. Nothing is returned on any failure: a *CheckError, a
// *ServerError, or an error matching ErrTransport, ErrRequest or ErrLogKey.
func (c *Client) Submit(ctx context.Context, baseURL string, req *Request, logKey crypto.PublicKey, origin string) (*protorekor.TransparencyLogEntry, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil request", ErrRequest)
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q is not an http(s) URL", ErrRequest, baseURL)
	}
	if origin == "" {
		origin = u.Hostname()
	}
	// Refuse an unusable log key before the entry is logged.
	if _, err := LogID(origin, logKey); err != nil {
		return nil, err
	}
	body, err := requestJSON(req)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+EntriesPath, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		hreq.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTransport, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorSize))
		se := &ServerError{StatusCode: resp.StatusCode, Message: printable(msg), LogIndex: -1}
		if i, err := strconv.ParseInt(resp.Header.Get("X-Log-Index"), 10, 64); err == nil && i >= 0 {
			se.LogIndex = i
		}
		return nil, se
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer: %w", ErrTransport, err)
	}
	tle, err := decodeEntry(raw)
	if err != nil {
		return nil, err
	}
	if err := Check(tle, req, logKey, origin); err != nil {
		return nil, err
	}
	return tle, nil
}

// decodeEntry decodes the server's protobuf-JSON answer.
func decodeEntry(raw []byte) (*protorekor.TransparencyLogEntry, error) {
	if len(raw) > MaxResponseSize {
		return nil, reject(FieldEntry, "answer is over %d bytes", MaxResponseSize)
	}
	var tle protorekor.TransparencyLogEntry
	// Fields a newer server adds are not evidence; what is checked is.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &tle); err != nil {
		return nil, reject(FieldEntry, "does not decode: %v", err)
	}
	return &tle, nil
}

// printable returns b as one line of printable text, at most MaxErrorSize
// bytes.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(string(b), ""))
	return strings.TrimSpace(s)
}

// requestJSON is the body of the POST that submits req.
func requestJSON(req *Request) ([]byte, error) {
	b, err := protojson.Marshal(&rekortilespb.CreateEntryRequest{
		Spec: &rekortilespb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: req.clone()},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	return b, nil
}
