// Package residency gives back the pages of the controller's own program
// that only start-up needed.
//
// Start-up touches much code and data that never runs again: every
// library's package initialisation (client-go's scheme registers every
// API group's types, the AWS SDK builds its schemas), flag and config
// parsing, the caches' first lists. Package initialisation alone left
// 33–38 MB of the controller's binary resident (2026-12-07, Linux 6.18),
// against 12 MiB of the Go runtime's own memory. The controller calls
// Release after initialisation and again once its caches have synced, so
// what stays resident is the code that runs; noreadahead makes each
// later fault read its one page (no read-ahead, nothing left cached for
// fault-around to map).
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
	// reclaim on request: the pages were only unmapped and dropped from
	// the cache.
	PageoutUnsupported bool
}
