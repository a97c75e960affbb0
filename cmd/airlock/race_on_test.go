//go:build race

package main

// raceEnabled says the test binary runs under the race detector, whose
// runtime reserves address space of its own (see TestStreamingUnderMemoryLimit).
const raceEnabled = true
