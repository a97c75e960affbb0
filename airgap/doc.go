// Package airgap will hold transfer kits (export, import) and the import
// gate: batch verification, policy, report and quarantine, committed in one
// database transaction.
//
// It is empty until the transfer-kit issue.
package airgap
