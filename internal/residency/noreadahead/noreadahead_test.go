//go:build linux && (amd64 || arm64)

package noreadahead

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestAdviseFindsTheExecutable: the test binary's read-only mappings are
// found and advised (init already did, and again here).
func TestAdviseFindsTheExecutable(t *testing.T) {
	if n := Advise(madvRandom); n == 0 {
		t.Fatal("no read-only mapping of the executable was advised")
	}
}

func TestDropCached(t *testing.T) {
	if !DropCached() {
		t.Fatal("fadvise(POSIX_FADV_DONTNEED) on the executable was refused")
	}
}

// TestDropCachedFreshlyWritten: a binary just written (its pages dirty in
// the page cache, as after a build or an image pull) is dropped too, not
// kept until the kernel writes it back.
func TestDropCachedFreshlyWritten(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err == nil && fs.Type == tmpfsMagic {
		t.Skip("the temporary directory is tmpfs, whose pages are the file itself and are never dropped")
	}
	copied := filepath.Join(dir, "copy")
	if err := os.WriteFile(copied, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if cached(t, copied) == 0 {
		t.Skip("this filesystem keeps no page cache for a file just written")
	}
	if !dropCached(copied) {
		t.Fatal("fadvise(POSIX_FADV_DONTNEED) was refused")
	}
	if n := cached(t, copied); n > 0 {
		t.Errorf("%d pages of a freshly written file still cached after DropCached", n)
	}
}

// tmpfsMagic is TMPFS_MAGIC (linux/magic.h).
const tmpfsMagic = 0x01021994

// cached counts the file's pages in the page cache (mincore).
func cached(t *testing.T, name string) int {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line       string
		start, end uintptr
		perms      string
		path       string
		ok         bool
	}{
		{"00400000-01a2c000 r-xp 00000000 fe:00 1234   /work/bin/aviary controller", 0x400000, 0x1a2c000, "r-xp", "/work/bin/aviary controller", true},
		{"7ffd1000-7ffd3000 rw-p 00000000 00:00 0                          [stack]", 0x7ffd1000, 0x7ffd3000, "rw-p", "[stack]", true},
		{"7f0000000000-7f0000001000 rw-p 00000000 00:00 0", 0, 0, "", "", false},
		{"zz-10 r--p 0 0 0 /x", 0, 0, "", "", false},
		{"20-10 r--p 0 0 0 /x", 0, 0, "", "", false},
	} {
		start, end, perms, path, ok := parse([]byte(tc.line))
		if ok != tc.ok || start != tc.start || end != tc.end || string(perms) != tc.perms || string(path) != tc.path {
			t.Errorf("parse(%q) = %#x %#x %q %q %v", tc.line, start, end, perms, path, ok)
		}
	}
}

// TestOnlySyscall keeps the package's imports to syscall, which is what
// lets its init run before the libraries'.
func TestOnlySyscall(t *testing.T) {
	src, err := os.ReadFile("noreadahead_linux.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "import \"syscall\"\n") || strings.Contains(string(src), "import (") {
		t.Error("noreadahead_linux.go must import syscall alone")
	}
}
