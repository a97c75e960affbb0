// Package policy will hold the site policy file: who may sign what, required
// attestations and freshness limits, applied by the import gate.
//
// It is empty until the transfer-kit issue; today a verification's policy is
// the command-line identity or key (bundle.Policy).
package policy
