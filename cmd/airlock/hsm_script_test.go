package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/airlock-project/airlock/hsm/softhsmtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// SoftHSM2 in testscript:
//
//	[!exec:softhsm2-util] skip 'needs SoftHSM2'
//	softhsm-token release
//
// softhsm-token LABEL initialises a fresh token in $WORK/softhsm and sets
//
//	SOFTHSM2_CONF          the script's own SoftHSM2 configuration
//	AIRLOCK_PKCS11_MODULE  the SoftHSM2 module
//	PIN_FILE               a 0600 file holding the user PIN (for ?pin-source=)
//	TOKEN_PIN              the PIN itself, random, only for `! stdout $TOKEN_PIN`
//	TOKEN_LABEL            LABEL
//
// Several tokens may be made in one script; the variables describe the
// last one and every token stays visible through the one SOFTHSM2_CONF.
//
// softhsm-key [-nosign] LABEL [IDHEX] makes a P-256 key pair on the last
// token through the raw PKCS#11 API, for keys airlock never makes: with
// -nosign the private key has CKA_SIGN false (pkcs11-tool cannot make one:
// SoftHSM turns sign on whatever --usage-* says).
// With AIRLOCK_REQUIRE_SOFTHSM set (make test), a missing SoftHSM2 fails
// every script instead of letting them skip.
func init() {
	if os.Getenv(rawKeyEnv) != "" {
		os.Exit(rawKeyChild())
	}
	scriptCmds["softhsm-token"] = cmdSoftHSMToken
	scriptCmds["softhsm-key"] = cmdSoftHSMKey
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		if os.Getenv("AIRLOCK_REQUIRE_SOFTHSM") != "" && !softhsmtest.Available() {
			return fmt.Errorf("SoftHSM2 is not installed and AIRLOCK_REQUIRE_SOFTHSM is set: run 'make softhsm'")
		}
		// Never inherit a PIN or module from the developer's shell.
		env.Setenv("AIRLOCK_PIN", "")
		env.Setenv("AIRLOCK_PKCS11_MODULE", "")
		return nil
	})
}

func cmdSoftHSMToken(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! softhsm-token")
	}
	if len(args) != 1 {
		ts.Fatalf("usage: softhsm-token LABEL")
	}
	if !softhsmtest.Available() {
		ts.Fatalf("SoftHSM2 is not installed: guard the script with [!exec:softhsm2-util] skip")
	}
	tok, err := softhsmtest.Create(filepath.Join(ts.Getenv("WORK"), "softhsm"), args[0])
	if err != nil {
		ts.Fatalf("%v", err)
	}
	ts.Setenv("SOFTHSM2_CONF", tok.Conf)
	ts.Setenv("AIRLOCK_PKCS11_MODULE", tok.Module)
	ts.Setenv("PIN_FILE", tok.PINFile)
	ts.Setenv("TOKEN_PIN", tok.PIN)
	ts.Setenv("TOKEN_LABEL", tok.Label)
}

// rawKeyEnv makes the test binary a child that runs softhsmtest.RawP256Key
// and exits, so the module is loaded with the script's SOFTHSM2_CONF and
// never in the test process. The PIN comes in TOKEN_PIN, never in argv.
const rawKeyEnv = "AIRLOCK_TEST_SOFTHSM_RAWKEY"

func rawKeyChild() int {
	id, err := hex.DecodeString(os.Getenv("RAWKEY_ID"))
	if err == nil {
		err = softhsmtest.RawP256Key(os.Getenv("AIRLOCK_PKCS11_MODULE"), os.Getenv("TOKEN_LABEL"),
			[]byte(os.Getenv("TOKEN_PIN")), os.Getenv("RAWKEY_LABEL"), id, os.Getenv("RAWKEY_SIGN") == "1")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "softhsm-key:", err)
		return 1
	}
	return 0
}

func cmdSoftHSMKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! softhsm-key")
	}
	sign := "1"
	if len(args) > 0 && args[0] == "-nosign" {
		sign, args = "0", args[1:]
	}
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: softhsm-key [-nosign] LABEL [IDHEX]")
	}
	id := "0a"
	if len(args) == 2 {
		id = args[1]
	}
	if ts.Getenv("TOKEN_LABEL") == "" {
		ts.Fatalf("softhsm-key needs a token: run softhsm-token first")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{rawKeyEnv + "=1", "RAWKEY_LABEL=" + args[0], "RAWKEY_ID=" + id, "RAWKEY_SIGN=" + sign}
	for _, v := range []string{"SOFTHSM2_CONF", "AIRLOCK_PKCS11_MODULE", "TOKEN_LABEL", "TOKEN_PIN"} {
		cmd.Env = append(cmd.Env, v+"="+ts.Getenv(v))
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		ts.Fatalf("softhsm-key: %v: %s", err, out)
	}
}
