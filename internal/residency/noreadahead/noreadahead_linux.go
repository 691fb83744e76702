//go:build linux && (amd64 || arm64)

package noreadahead

import "syscall"

// Advice values from the kernel's uapi (asm-generic/mman-common.h,
// linux/fadvise.h).
const (
	madvNormal       = 0
	madvRandom       = 1
	fadvDontneed     = 4
	executableLinkTo = "/proc/self/exe"
)

func init() {
	Advise(madvRandom)
	DropCached()
}

// DropCached asks the kernel to drop the executable's cached pages that no
// process maps. It reports whether the kernel took the request.
func DropCached() bool { return dropCached(executableLinkTo) }

func dropCached(name string) bool {
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	// Pages not yet written back cannot be dropped: a binary just built,
	// or just unpacked from an image layer, would keep its whole page cache
	// (and fault-around would map it) for the 30 s the kernel waits before
	// writing it. Writing it now costs nothing when it is clean.
	_ = syscall.Fdatasync(fd)
	_, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, uintptr(fd), 0, 0, fadvDontneed, 0, 0)
	return e == 0
}

// Restore gives the executable's pages the kernel's default advice back.
func Restore() int { return Advise(madvNormal) }

// Advise gives advice to every read-only mapping of the executable. It
// reports how many mappings it advised; errors leave the default advice,
// which is only more memory.
func Advise(advice uintptr) int {
	var exe [4096]byte
	n, err := syscall.Readlink(executableLinkTo, exe[:])
	if err != nil || n <= 0 || n >= len(exe) {
		return 0
	}
	maps, ok := readAll("/proc/self/maps")
	if !ok {
		return 0
	}
	advised := 0
	for len(maps) > 0 {
		line := maps
		if i := indexByte(maps, '\n'); i >= 0 {
			line, maps = maps[:i], maps[i+1:]
		} else {
			maps = nil
		}
		start, end, perms, path, ok := parse(line)
		if !ok || perms[1] == 'w' || string(path) != string(exe[:n]) {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, advice); e == 0 {
			advised++
		}
	}
	return advised
}

// parse reads "start-end perms offset dev inode path" of a maps line.
func parse(line []byte) (start, end uintptr, perms, path []byte, ok bool) {
	var fields [6][]byte
	f := 0
	for i := 0; i < len(line) && f < 6; {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		j := i
		if f == 5 {
			j = len(line) // the path may hold spaces
		} else {
			for j < len(line) && line[j] != ' ' {
				j++
			}
		}
		if j > i {
			fields[f] = line[i:j]
			f++
		}
		i = j
	}
	if f < 6 || len(fields[1]) < 2 {
		return 0, 0, nil, nil, false
	}
	dash := indexByte(fields[0], '-')
	if dash < 0 {
		return 0, 0, nil, nil, false
	}
	start, ok1 := hex(fields[0][:dash])
	end, ok2 := hex(fields[0][dash+1:])
	if !ok1 || !ok2 || end <= start {
		return 0, 0, nil, nil, false
	}
	return start, end, fields[1], fields[5], true
}

func hex(b []byte) (uintptr, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uintptr
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uintptr(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uintptr(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// readAll reads a /proc file, whose size stat does not tell.
func readAll(name string) ([]byte, bool) {
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	buf := make([]byte, 0, 64<<10)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if n == 0 {
			return buf, true
		}
		buf = buf[:len(buf)+n]
	}
}
