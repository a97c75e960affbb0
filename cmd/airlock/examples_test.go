package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/urfave/cli/v2"
)

// TestExamples runs every example command line that airlock's help texts
// (`airlock CMD --help` of every command), README.md and docs/*.md show,
// in a prepared sandbox, so that an example cannot drift from the binary.
//
// An example is a line starting with "airlock " (or "bin/airlock ") inside a help text or a
// fenced code block (continued by a trailing backslash). The lines after
// it in the block, up to a blank line or the next command, are its shown
// output: each must appear in what it printed ("..." matches anything),
// and it must exit 0, or 1 when the shown output has an "airlock: error:"
// line (a rejection shown on purpose).
//
// An example that cannot run as written is annotated, and counted: in a
// doc, `<!-- example: skip (REASON) -->` on the line before its fenced
// block skips the whole block, and `<!-- example: exit only (REASON) -->`
// runs it checking only the exit code (and shown "airlock: error:" lines);
// a help example is listed in helpSkips. An example that fails without an
// annotation fails the test. "…" in shown output matches anything, as
// "..." does.
//
// The sandbox (see exampleSandbox) holds what the examples name: a key pair
// release.key/release.pub, hello.tgz with its bundle, .sig and .att,
// dist/a.tgz and dist/b.tgz with bundles, trusted_root.json (public-good),
// a SoftHSM token labelled "release" holding the key "signer" (release.pub)
// with its PIN in $HOME/softhsm/release.pin and AIRLOCK_PIN, and, for help
// examples, a database with public-good trust imported and signatures in
// its audit trail (a document starts without one).
func TestExamples(t *testing.T) {
	bin, err := exec.LookPath("airlock")
	if err != nil {
		t.Fatalf("the test binary's airlock command is not in PATH: %v", err)
	}
	var examples []example
	for _, f := range append([]string{"../../README.md"}, must(filepath.Glob("../../docs/*.md"))...) {
		examples = append(examples, docExamples(t, f)...)
	}
	examples = append(examples, helpExamples(t, bin)...)
	if len(examples) < 40 {
		t.Fatalf("only %d examples found: the extraction is broken", len(examples))
	}
	sandbox := exampleSandbox(t, bin)
	// The examples of one file (a doc, a help text) run in order in one
	// copy of the sandbox, as a reader would follow them: a later one may
	// use what an earlier one made (a key generated, then its public key
	// exported; trust initialised, then updated).
	var blocks [][]example
	for i, ex := range examples {
		if i == 0 || ex.src != examples[i-1].src {
			blocks = append(blocks, nil)
		}
		blocks[len(blocks)-1] = append(blocks[len(blocks)-1], ex)
	}
	ran, skipped, exitOnly := 0, map[string]int{}, map[string]int{}
	for _, block := range blocks {
		t.Run(fmt.Sprintf("%s:%d", block[0].src, block[0].line), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "w")
			if out, err := exec.Command("cp", "-a", sandbox, dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			if !strings.HasSuffix(block[0].src, "--help") {
				// A document starts from the signing room's database (the
				// site log, no trust imported), as its reader does; a help
				// example finds trust imported too.
				if err := os.Rename(filepath.Join(dir, "sitelog-only.db"), filepath.Join(dir, "airlock.db")); err != nil {
					t.Fatal(err)
				}
			}
			env := sandboxEnv(t, sandbox, dir, bin)
			for _, ex := range block {
				if ex.skip != "" {
					skipped[ex.skip]++
					continue
				}
				ran++
				if ex.exitOnly != "" {
					exitOnly[ex.exitOnly]++
					ex.output = slices.DeleteFunc(ex.output, func(l string) bool { return !strings.HasPrefix(l, "airlock: error:") })
				}
				runExample(t, ex, dir, env)
			}
		})
	}
	t.Logf("%d examples: %d run (output not compared, by annotation: %v), skipped by annotation: %v", len(examples), ran, exitOnly, skipped)
}

func runExample(t *testing.T, ex example, dir string, env []string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", ex.cmd)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, l := range ex.output {
		if strings.HasPrefix(l, "airlock: error:") {
			want = 1
		}
	}
	var output []string
	for _, l := range ex.output {
		if n, ok := strings.CutPrefix(l, "(exit "); ok { // a transcript's "(exit 1)"
			fmt.Sscanf(n, "%d)", &want)
			continue
		}
		output = append(output, l)
	}
	ex.output = output
	if code != want {
		t.Errorf("%s:%d: %s\nexit %d, want %d\n%s", ex.src, ex.line, ex.cmd, code, want, out)
		return
	}
	for _, l := range ex.output {
		if !shownLine(l).Match(out) {
			t.Errorf("%s:%d: %s\nshown output line %q not in what it printed:\n%s", ex.src, ex.line, ex.cmd, l, out)
		}
	}
}

type example struct {
	src    string // file, or "airlock CMD --help"
	line   int
	block  int // examples of one block share a sandbox, in order
	cmd    string
	output []string
	skip   string // the annotation's reason, if skipped
	// exitOnly is the annotation's reason when only the exit code is
	// checked (the shown output has values that differ on every run:
	// token serials, key ids).
	exitOnly string
}

var (
	skipNote     = regexp.MustCompile(`^<!-- example: skip \((.+)\) -->$`)
	exitOnlyNote = regexp.MustCompile(`^<!-- example: exit only \((.+)\) -->$`)
)

// docExamples extracts the examples of one Markdown file.
func docExamples(t *testing.T, path string) []example {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []example
	inFence, skip, pending, block := false, "", "", 0
	exitOnly, pendingExit := "", ""
	var cur *example
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], " \t")
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			flush()
			if !inFence {
				skip, pending = pending, ""
				exitOnly, pendingExit = pendingExit, ""
				block++
			}
			inFence = !inFence
			continue
		}
		if !inFence {
			if m := skipNote.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
				pending = m[1]
			} else if m := exitOnlyNote.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
				pendingExit = m[1]
			} else if strings.TrimSpace(l) != "" {
				pending, pendingExit = "", ""
			}
			continue
		}
		trim := strings.TrimPrefix(strings.TrimSpace(l), "$ ")
		if rest, ok := strings.CutPrefix(trim, "bin/airlock "); ok { // the README's make build binary
			trim = "airlock " + rest
		}
		switch {
		case strings.HasPrefix(trim, "airlock "):
			flush()
			ex := example{src: filepath.Base(path), line: i + 1, block: block, skip: skip, exitOnly: exitOnly}
			cmdLine := trim
			for strings.HasSuffix(cmdLine, `\`) && i+1 < len(lines) {
				i++
				cmdLine = strings.TrimSuffix(cmdLine, `\`) + " " + strings.TrimSpace(lines[i])
			}
			ex.cmd = stripComment(cmdLine)
			cur = &ex
		case trim == "":
			flush()
		case cur != nil && !strings.HasPrefix(trim, "#"):
			cur.output = append(cur.output, trim)
		default:
			flush()
		}
	}
	return out
}

// stripComment drops a shell comment ("  # batch: ...") after a command.
func stripComment(s string) string {
	if i := strings.Index(s, " # "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// helpSkips are help-text examples that cannot run as written, with why.
// Those marked "wrong as written" should be fixed in the help text.
// siteLogExample is why the log commands' help examples do not run here:
// the sandbox's database has no site log; log_softhsm.txtar runs each
// command on a token with a log key.
const siteLogExample = "a site log on a token named site: log_softhsm.txtar runs these commands on its own token"

// auditSealExample is why the seal commands' help examples do not run
// here: they need the site log's key (the sandbox has no site log);
// audit_verify_tamper.txtar and audit_seal_softhsm.txtar run them.
const auditSealExample = "the site log key and its public half: audit_verify_tamper.txtar and audit_seal_softhsm.txtar run these commands"

var helpSkips = map[string]string{
	"airlock checkpoints import /media/usb/site-a.pack":                                                                                 "a removable medium with another site's pack: checkpoints_site_fork.txtar imports packs",
	"airlock checkpoints import /media/usb/site-a.pack --witness-policy witnesses.txt -o json":                                          "a removable medium and a witness policy: checkpoints_witness_policy.txtar runs both",
	"airlock checkpoints verify-consistency old.txt new.txt --proof proof.txt":                                                          "checkpoints and a proof an operator was handed: checkpoints_site_fork.txtar runs the command",
	"airlock checkpoints policy set witnesses.txt":                                                                                      "a witness policy naming real witnesses: checkpoints_witness_policy.txtar sets one",
	"airlock audit seal --key 'pkcs11:token=site;object=logkey'":                                                                        auditSealExample,
	"airlock audit seal --key 'pkcs11:token=site;object=logkey' -o json":                                                                auditSealExample,
	"airlock audit verify --log-key log.pub":                                                                                            auditSealExample,
	"airlock audit verify --log-key log.pub --checkpoint seal-2026-12-01.txt -o json":                                                   auditSealExample,
	"airlock audit checkpoint > seal.txt":                                                                                               auditSealExample,
	"airlock sign-blob --key 'pkcs11:token=release;object=signer'  --tlog rekor=http://127.0.0.1:3000 --rekor-key rekor.pub dist/*.tgz": "needs a running rekor-tiles server: TestSignRekorV2 and scripts/interop.sh run it",
	"airlock log export-tiles /media/usb/site-log":                                                                                      "a removable medium (log_export_tiles.txtar exports to a directory)",
	"airlock log serve":                        "a server that runs until interrupted: TestLogServe runs it",
	"airlock log serve --listen 10.0.0.5:8080": "a server on a LAN address that runs until interrupted: TestLogServe runs one on loopback",
	"airlock log init --key 'pkcs11:token=site;object=logkey' --origin transparency.site.example": siteLogExample,
	"airlock log init --key 'pkcs11:token=site;object=logkey' --origin log.example --tree-id 1":   siteLogExample,
	"airlock log status":                siteLogExample,
	"airlock log checkpoint":            siteLogExample,
	"airlock log proof --index 0":       siteLogExample,
	"airlock log consistency --from 10": siteLogExample,
	"airlock log status -o json":        siteLogExample,
	"airlock log rotate-key --key 'pkcs11:token=site;object=logkey-2027'":                                         siteLogExample,
	"airlock log rotate-key --key 'pkcs11:token=site2;object=logkey' --old-key 'pkcs11:token=site;object=logkey'": "tokens named site and site2: log_rotate_key.txtar rotates to a key of its own token",
	"airlock log checkpoint > checkpoint.txt":                                                                     siteLogExample,
	"airlock log proof --index 3 --size 10 -o json":                                                               siteLogExample,
	"airlock log consistency --from 10 --to 20 -o json":                                                           siteLogExample,
	"airlock verify-blob --bundle hello.tgz.sigstore.json  --certificate-identity me@example.com --certificate-oidc-issuer https://accounts.google.com  --trusted-root trusted_root.json hello.tgz": "keyless: needs a bundle with a Fulcio certificate for me@example.com",
	"airlock sign-blob --key 'pkcs11:token=release;object=signer?pin-source=/run/release.pin'  --tlog none --bundle hello.tgz.sigstore.json hello.tgz":                                              "a PIN file under /run, outside the sandbox",
	"airlock hsm keygen --token release --label signer --type ecdsa-p256":                                                                                                                           "the sandbox's token already holds the key signer that the signing examples use",
	"airlock hsm keygen --token release --label signer":                                                                                                                                             "the sandbox's token already holds the key signer that the signing examples use",
	"airlock hsm keys --token 'pkcs11:serial=c84af146e6bcad62?pin-source=/run/release.pin' -o json":                                                                                                 "the serial of the author's token, and a PIN file under /run",
	"airlock hsm keygen --token 'pkcs11:token=release?pin-source=/run/release.pin'  --label attester --type ed25519 --id 0a01":                                                                      "a PIN file under /run, outside the sandbox",
	"airlock hsm pubkey 'pkcs11:token=release;id=%0a%01' -o json":                                                                                                                                   "the key made by hsm keygen's example with a PIN file under /run",
	"airlock trust update --from /media/usb/tuf --at 2026-08-21T20:00:00Z":                                                                                                                          "a removable medium",
	"airlock trust update --from /media/usb/tuf":                                                                                                                                                    "a removable medium",
	"airlock trust update --from tuf-2026-08-21.tar.gz --name public-good --at 2026-08-21T20:00:00Z":                                                                                                "a tar of a TUF mirror (trust_site.txtar imports one)",
	"airlock trust update --from https://tuf-repo-cdn.sigstore.dev":                                                                                                                                 "needs the network",
	"airlock trust init --public-good":                                                                                                                                                              "a help example finds public-good already in the database (docs/trust.md runs it on a fresh one)",
	"airlock trust init --root ./root.json --name site":                                                                                                                                             "a site's root.json (trust_site.txtar pins one)",
}

// helpExamples runs `airlock CMD --help` for every command and extracts the
// example lines.
func helpExamples(t *testing.T, bin string) []example {
	t.Helper()
	var names [][]string
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			p := append(append([]string{}, prefix...), c.Name)
			names = append(names, p)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, commands())
	var out []example
	for _, n := range names {
		src := "airlock " + strings.Join(n, " ") + " --help"
		help, err := exec.Command(bin, append(n, "--help")...).Output()
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(help))
		line, inExamples := 0, false
		for sc.Scan() {
			line++
			trim := strings.TrimSpace(sc.Text())
			switch {
			case strings.HasPrefix(trim, "Example"):
				inExamples = true
				continue
			case strings.HasPrefix(trim, "OPTIONS:") || strings.HasPrefix(trim, "COMMANDS:"):
				inExamples = false
			}
			if !inExamples || !strings.HasPrefix(trim, "airlock ") {
				continue
			}
			start := line
			for strings.HasSuffix(trim, `\`) && sc.Scan() {
				line++
				trim = strings.TrimSuffix(trim, `\`) + " " + strings.TrimSpace(sc.Text())
			}
			cmd := stripComment(trim)
			out = append(out, example{src: src, line: start, cmd: cmd, skip: helpSkips[cmd]})
		}
	}
	return out
}

// shownLine makes a shown output line a pattern: "..." matches anything.
func shownLine(l string) *regexp.Regexp {
	parts := strings.Split(strings.ReplaceAll(l, "…", "..."), "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?m)^` + strings.Join(parts, `.*`))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// sandboxEnv is the examples' environment in dir, a copy of sandbox:
// airlock on PATH, dir as HOME, its database, its copy of the token (the
// SoftHSM config rewritten to point into dir) and the token's PIN in
// AIRLOCK_PIN, as an operator sets it (examples with ?pin-source= read
// $HOME/softhsm/release.pin instead).
func sandboxEnv(t *testing.T, sandbox, dir, bin string) []string {
	t.Helper()
	env := []string{
		"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AIRLOCK_DB=" + filepath.Join(dir, "airlock.db"),
	}
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "GO") || strings.HasPrefix(e, "TMPDIR=") {
			env = append(env, e)
		}
	}
	if exampleToken != nil {
		conf, err := os.ReadFile(exampleToken.Conf)
		if err != nil {
			t.Fatal(err)
		}
		confPath := filepath.Join(dir, "softhsm", "softhsm2.conf")
		if err := os.WriteFile(confPath, bytes.ReplaceAll(conf, []byte(sandbox), []byte(dir)), 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, "SOFTHSM2_CONF="+confPath, "AIRLOCK_PKCS11_MODULE="+exampleToken.Module, "AIRLOCK_PIN="+exampleToken.PIN)
	}
	return env
}

// exampleToken is the sandbox's SoftHSM token (shared by every example's
// copy of the sandbox), nil without SoftHSM2.
var exampleToken *softhsmtest.Token

// exampleSandbox prepares the files the examples name, with real commands.
func exampleSandbox(t *testing.T, bin string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sandbox")
	if err := os.MkdirAll(filepath.Join(dir, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, kd := keyFileDir(t)
	copyFile(t, filepath.Join(kd, "k.key"), filepath.Join(dir, "release.key"))
	td := must(filepath.Abs("../../testdata"))
	copyFile(t, filepath.Join(td, "tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json"), filepath.Join(dir, "trusted_root.json"))
	copyFile(t, filepath.Join(td, "conformance/bundle-verify/a.txt"), filepath.Join(dir, "hello.tgz"))
	for _, f := range []string{"dist/a.tgz", "dist/b.tgz"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("release "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "sbom.spdx.json"), []byte(`{"SPDXID": "SPDXRef-DOCUMENT", "name": "hello"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if softhsmtest.Available() {
		tok, err := softhsmtest.Create(filepath.Join(dir, "softhsm"), "release")
		if err != nil {
			t.Fatal(err)
		}
		exampleToken = tok
		copyFile(t, tok.PINFile, filepath.Join(dir, "softhsm", "release.pin"))
		if err := os.Chmod(filepath.Join(dir, "softhsm", "release.pin"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := sandboxEnv(t, dir, dir, bin)
	if err := os.WriteFile(filepath.Join(dir, "bom.cdx.json"), []byte(`{"bomFormat": "CycloneDX", "specVersion": "1.5"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(dir, "sbom.spdx.json"), filepath.Join(dir, "sbom.json"))
	if err := os.Symlink(td, filepath.Join(dir, "testdata")); err != nil {
		t.Fatal(err)
	}
	// The examples' release key is the token's "signer" (release.pub is its
	// public half); release.key is a key file of its own.
	signer := "'pkcs11:token=release;object=signer'"
	for _, c := range []string{
		"airlock hsm keygen --token release --label signer --type ecdsa-p256",
		"airlock hsm pubkey " + signer + " > release.pub",
		// The signing room's site log (a key file here: the examples'
		// token holds the signer), so that bundles carry log entries and
		// the primer's detached .sig and .att verify by their entries.
		"openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out log.key",
		"airlock log init --key log.key --origin transparency.site.example",
		"airlock sign-blob --key " + signer + " --bundle hello.tgz.sigstore.json hello.tgz",
		"airlock sign-blob --key " + signer + " hello.tgz > hello.tgz.sig",
		"airlock sign-blob --key " + signer + " dist/a.tgz dist/b.tgz",
		"echo changed >> dist/b.tgz", // the batch example shows b rejected
		"airlock attest-blob --key " + signer + " --type spdxjson --predicate sbom.spdx.json --bundle hello.tgz.att.sigstore.json --output-signature hello.tgz.att hello.tgz",
		// A document's reader starts from the signing room's database:
		// the site log, no trust imported yet.
		"cp airlock.db sitelog-only.db",
		"airlock trust init --public-good",
		"airlock trust update --from " + filepath.Join(td, "tuf/public-good-2026-08-21") + " --at 2026-08-22T00:00:00Z",
	} {
		cmd := exec.Command("/bin/sh", "-c", c)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("preparing the sandbox: %s: %v\n%s", c, err, out)
		}
	}
	return dir
}
