package trust

// This file is airlock's one networked path for trust: `trust update --from
// https://...` on a connected machine. Verification never reaches it.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type httpMedium struct {
	base   string
	client *http.Client
}

// OpenHTTP returns a medium that reads a TUF repository at base over HTTP(S).
// Every response is bounded like any other medium read.
func OpenHTTP(base string) (Medium, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("invalid repository URL %q", base)
	}
	return &httpMedium{
		base:   strings.TrimSuffix(base, "/"),
		client: &http.Client{Timeout: 30 * time.Second},
	}, nil
}

func (m *httpMedium) String() string { return "url " + m.base }

func (m *httpMedium) Read(ctx context.Context, name string, limit int64) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	u := m.base + "/" + (&url.URL{Path: name}).EscapedPath()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %q: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden:
		// Static TUF mirrors (GCS, S3) answer 403 for a missing object.
		return nil, &notOnMedium{name}
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("fetching %q: %s", u, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %q is %d bytes, over %d", ErrTooLarge, name, resp.ContentLength, limit)
	}
	return readBounded(resp.Body, name, limit)
}
