package trust

// Limits on what is read from a medium. Every read of untrusted metadata is
// bounded by one of these; they are the one place to change them.
const (
	// MaxRootSize bounds one N.root.json (go-tuf's updater default).
	MaxRootSize = 512 << 10
	// MaxTimestampSize bounds timestamp.json.
	MaxTimestampSize = 16 << 10
	// MaxSnapshotSize bounds snapshot.json when the timestamp gives no length.
	MaxSnapshotSize = 2 << 20
	// MaxTargetsSize bounds targets.json when the snapshot gives no length.
	MaxTargetsSize = 5 << 20
	// MaxTargetSize bounds one target file (trusted_root.json and the like).
	MaxTargetSize = 8 << 20
	// MaxRootRotations bounds the walk N+1, N+2, ... over new root versions.
	MaxRootRotations = 256
	// MaxTarSize bounds a tar medium as a whole (uncompressed) and
	// MaxTarEntries the number of entries it may hold.
	MaxTarSize    = 64 << 20
	MaxTarEntries = 4096
	// MaxTargets bounds how many targets one targets.json may list for import.
	MaxTargets = 1024
)
