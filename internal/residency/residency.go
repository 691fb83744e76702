// Package residency gives back the pages of the controller's own program
// that only start-up needed.
//
// The kernel maps a program's file pages around each page that is touched
// (fault-around, 64 KiB at a time), and start-up touches much code that
// never runs again: every API group's types registered in the scheme,
// flag and config parsing, the caches' first lists. At rest with no
// Rollouts that was 33 MiB of the binary resident against 9 MiB of the
// Go runtime's own memory (2026-12-06). Release drops those pages once
// start-up is over and asks the kernel to fault in only the pages touched
// from then on, so what stays resident is the code that runs.
package residency

// Released is what Release did, for the log.
type Released struct {
	// Mappings is how many read-only mappings of the executable were
	// advised.
	Mappings int
	// Before and After are the resident file-backed bytes of the process
	// (RssFile) around the call; zero where the system does not say.
	Before, After int64
	// PageoutUnsupported is set when the kernel (before Linux 5.4) does not
	// reclaim on request: fault-around is still turned off.
	PageoutUnsupported bool
}
