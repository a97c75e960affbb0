// Package rekortest runs a real rekor-tiles v2.3.0 POSIX server on 127.0.0.1
// for tests.
//
// Start builds the server from the nested module tools/rekor-tiles (pinned
// there, outside airlock's go.mod) with the local Go toolchain into the user
// cache directory, keyed by the hash of tools/rekor-tiles/go.sum, and reuses
// that binary afterwards. Each server gets a fresh ECDSA P-256 log key, a
// fresh storage directory under t.TempDir() and free loopback ports; it is
// stopped when the test ends. Its storage directory (checkpoint and C2SP
// tiles) is served read-only at Server.TilesURL.
//
// A server that cannot be built or started fails the test, unless the
// environment variable AIRLOCK_SKIP_REKOR is set (a developer's explicit
// opt-out), in which case the test is skipped.
package rekortest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SkipEnv, when set, turns a server that cannot be built or started into a
// skipped test instead of a failed one.
const SkipEnv = "AIRLOCK_SKIP_REKOR"

// ServerPackage is the rekor-tiles POSIX server's package in
// tools/rekor-tiles.
const ServerPackage = "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix"

// Options configure a server. The zero value is the hostname "rekor.local",
// a 100 ms checkpoint interval and the server's default batching.
type Options struct {
	// Hostname is the checkpoint origin. Empty means "rekor.local".
	Hostname string
	// CheckpointInterval is how often the server publishes a checkpoint; a
	// Submit waits for the next one. Zero means 100 ms, the least Tessera
	// takes. The server looks for a new checkpoint once a second, so a
	// Submit takes about a second however short this is.
	CheckpointInterval time.Duration
	// BatchMaxAge is how long the server gathers entries before sequencing
	// them. Zero means the server's default (250 ms).
	BatchMaxAge time.Duration
	// BatchMaxSize is the most entries in one batch. Zero means the
	// server's default (256).
	BatchMaxSize int
	// Key is the log's signing key; nil generates one. Two servers with
	// one key and hostname are one log showing two histories (a fork).
	Key *ecdsa.PrivateKey
}

// Server is a running rekor-tiles server.
type Server struct {
	URL        string           // base URL, http://127.0.0.1:PORT
	Origin     string           // checkpoint origin (the --hostname)
	LogKey     crypto.PublicKey // the log's ECDSA P-256 public key
	LogKeyPEM  string           // path of the public key, PEM
	StorageDir string           // checkpoint and tiles
	TilesURL   string           // StorageDir served read-only over HTTP
	Dir        string           // holds the key, the log file, the storage
}

// Start builds (once) and starts a server, stopped at the end of the test.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		unavailable(t, err)
	}
	var s *Server
	// Free ports are picked by closing a listener: another process may take
	// one before the server binds it, so try a few times.
	for range 3 {
		s, err = start(t, bin, o)
		if err == nil {
			break
		}
	}
	if err != nil {
		unavailable(t, err)
	}
	files := httptest.NewServer(http.FileServer(http.Dir(s.StorageDir)))
	t.Cleanup(files.Close)
	s.TilesURL = files.URL
	return s
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(SkipEnv) != "" {
		t.Skipf("rekor-tiles server unavailable (%s is set): %v", SkipEnv, err)
	}
	t.Fatalf("rekor-tiles server unavailable: %v (set %s=1 to skip instead)", err, SkipEnv)
}

func start(t testing.TB, bin string, o Options) (*Server, error) {
	if o.Hostname == "" {
		o.Hostname = "rekor.local"
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = 100 * time.Millisecond
	}
	dir := t.TempDir()
	s := &Server{Origin: o.Hostname, Dir: dir, StorageDir: filepath.Join(dir, "storage"), LogKeyPEM: filepath.Join(dir, "log.pub")}
	key := o.Key
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, err
		}
	}
	s.LogKey = key.Public()
	if err := writeKeys(dir, key); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(ports[0])
	args := []string{"serve",
		"--hostname", o.Hostname,
		"--storage-dir", s.StorageDir,
		"--signer-filepath", filepath.Join(dir, "log.key"),
		"--http-address", "127.0.0.1", "--http-port", strconv.Itoa(ports[0]),
		"--grpc-address", "127.0.0.1", "--grpc-port", strconv.Itoa(ports[1]),
		"--http-metrics-port", strconv.Itoa(ports[2]),
		"--checkpoint-interval", o.CheckpointInterval.String(),
		"--log-level", "warn",
	}
	if o.BatchMaxAge != 0 {
		args = append(args, "--batch-max-age", o.BatchMaxAge.String())
	}
	if o.BatchMaxSize != 0 {
		args = append(args, "--batch-max-size", strconv.Itoa(o.BatchMaxSize))
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// exited is closed when the server has exited; waitErr is then its
	// status.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	if err := waitReady(s.URL, exited, &waitErr, 30*time.Second); err != nil {
		stop()
		out, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return nil, fmt.Errorf("%v; server log:\n%s", err, tail(out, 2000))
	}
	t.Cleanup(stop)
	return s, nil
}

func writeKeys(dir string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "log.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "log.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitReady polls GET /healthz until the server answers 200, it exits, or
// the time is up.
func waitReady(base string, exited <-chan struct{}, waitErr *error, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("server exited at start: %v", *waitErr)
		case <-ctx.Done():
			return fmt.Errorf("server not ready at %s after %s", base, limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the path of the rekor-tiles server, building it the first
// time into the user cache directory.
func Binary() (string, error) {
	buildOnce.Do(func() { buildPath, buildErr = build() })
	return buildPath, buildErr
}

// ToolsDir returns tools/rekor-tiles of the airlock checkout holding the
// working directory.
func ToolsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "tools", "rekor-tiles")
		if _, err := os.Stat(filepath.Join(p, "go.sum")); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("tools/rekor-tiles/go.sum not found above the working directory")
		}
		dir = parent
	}
}

func build() (string, error) {
	tools, err := ToolsDir()
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(tools, "go.sum"))
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(sum)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "airlock", "rekor-tiles")
	out := filepath.Join(dir, "rekor-server-"+hex.EncodeToString(h[:8]))
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o100 != 0 {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go toolchain not found: %w", err)
	}
	// Build to a private name and rename: test binaries of several
	// packages may build at once.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(goBin, "build", "-o", filepath.Join(tmp, "rekor-server"), ServerPackage)
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s in %s: %v\n%s", ServerPackage, tools, err, tail(b, 2000))
	}
	if err := os.Rename(filepath.Join(tmp, "rekor-server"), out); err != nil {
		return "", err
	}
	return out, nil
}

func tail(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}
