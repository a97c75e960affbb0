package hsm

import "fmt"

// Error is an error from this package: a message for the user and the
// sentinel (ErrNoToken, ErrWrongPIN, ...) it is an instance of.
type Error struct {
	Kind error
	msg  string
	err  error // underlying cause, e.g. a pkcs11.Error
}

func (e *Error) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.err != nil {
		return []error{e.Kind, e.err}
	}
	return []error{e.Kind}
}

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, msg: fmt.Sprintf(format, args...)}
}

func wrapf(kind, cause error, format string, args ...any) error {
	return &Error{Kind: kind, msg: fmt.Sprintf(format, args...), err: cause}
}
