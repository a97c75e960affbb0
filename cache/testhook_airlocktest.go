//go:build airlocktest

package cache

// SetCommitHook makes every TUF and mirror commit run hook inside its transaction,
// after the writes and before the commit, so that a test can kill the
// process there. It exists only in binaries built with -tags airlocktest:
// a release binary has no way to pause inside a write transaction.
func SetCommitHook(hook func()) { commitHook = hook }
