//go:build !(linux && (amd64 || arm64))

package noreadahead

// Advise does nothing where the kernel's mapping advice is not Linux's (or
// its fadvise call is not fadvise64).
func Advise(uintptr) int { return 0 }

// Restore does nothing here.
func Restore() int { return 0 }

// DropCached does nothing here.
func DropCached() bool { return false }
