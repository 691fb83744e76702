package residency

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Advice values from the kernel's uapi (asm-generic/mman-common.h); the
// syscall package has no MADV_PAGEOUT.
const (
	madvRandom  = 1
	madvPageout = 21
)

// Release advises every read-only mapping of the running executable
// (code and read-only data; never the writable data, whose pages are the
// program's own): MADV_RANDOM, so a page fault maps that page alone, not
// its neighbours, and MADV_PAGEOUT, so the pages start-up touched leave the
// resident set. A page used again is faulted back from the page cache or
// the file, as any page of a program is. It is safe at any time and from
// any goroutine.
func Release() (Released, error) {
	var r Released
	exe, err := os.Executable()
	if err != nil {
		return r, fmt.Errorf("find the executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	spans, err := readOnlyMappings(exe)
	if err != nil {
		return r, err
	}
	r.Before = rssFile()
	for _, s := range spans {
		if err := madvise(s, madvRandom); err != nil {
			return r, fmt.Errorf("madvise(MADV_RANDOM) %#x-%#x of %s: %w", s.start, s.end, exe, err)
		}
		r.Mappings++
		if r.PageoutUnsupported {
			continue
		}
		switch err := madvise(s, madvPageout); {
		case errors.Is(err, syscall.EINVAL):
			r.PageoutUnsupported = true
		case err != nil:
			return r, fmt.Errorf("madvise(MADV_PAGEOUT) %#x-%#x of %s: %w", s.start, s.end, exe, err)
		}
	}
	r.After = rssFile()
	return r, nil
}

type span struct{ start, end uintptr }

func madvise(s span, advice uintptr) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, s.start, s.end-s.start, advice); e != 0 {
		return e
	}
	return nil
}

// readOnlyMappings lists the mappings of file in /proc/self/maps that are
// not writable.
func readOnlyMappings(file string) ([]span, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("read the process's mappings: %w", err)
	}
	defer f.Close()
	var out []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != file || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, span{uintptr(start), uintptr(end)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the process's mappings: %w", err)
	}
	return out, nil
}

// rssFile is the process's resident file-backed memory in bytes, or 0.
func rssFile() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
