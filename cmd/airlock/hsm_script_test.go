package main

import (
	"fmt"
	"os"
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
// With AIRLOCK_REQUIRE_SOFTHSM set (make test), a missing SoftHSM2 fails
// every script instead of letting them skip.
func init() {
	scriptCmds["softhsm-token"] = cmdSoftHSMToken
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
