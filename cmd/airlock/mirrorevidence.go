package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/airlock-project/airlock/bundle"
)

// printEvidence prints the evidence a split view carries (both signed
// checkpoints and the proof that fails, each between BEGIN and END
// lines), verbatim, so that an operator can hand it over as it is.
// Nothing for other errors.
func printEvidence(w io.Writer, err error) {
	var sv *bundle.SplitViewError
	if !errors.As(err, &sv) {
		return
	}
	ev := sv.Evidence()
	if !strings.HasSuffix(ev, "\n") {
		ev += "\n"
	}
	fmt.Fprint(w, evidenceIntro, ev)
}
