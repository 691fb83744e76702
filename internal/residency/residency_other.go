//go:build !linux

package residency

// Release does nothing where the kernel's mapping advice is not Linux's.
func Release() (Released, error) { return Released{}, nil }
