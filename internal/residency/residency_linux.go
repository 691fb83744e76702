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

	"github.com/aviary-rollouts/aviary/internal/residency/noreadahead"
)

// Advice values from the kernel's uapi (asm-generic/mman-common.h); the
// syscall package has no MADV_PAGEOUT.
const (
	madvRandom   = 1
	madvDontneed = 4
	madvPageout  = 21
)

// Release advises every read-only mapping of the running executable
// (code and read-only data; never the writable data, whose pages are the
// program's own):
//
//   - MADV_RANDOM, so a fault reads only its own page, never ahead (it
//     does not stop fault-around mapping neighbours that are already
//     cached, which is why the cache is dropped below);
//   - MADV_PAGEOUT, so the pages start-up touched leave the page cache
//     where the kernel can take them (it skips large folios it cannot
//     split, which since Linux 6.16 ext4 reads the binary into: measured
//     there, pageout alone gave back 12 of 45 MB);
//   - MADV_DONTNEED, so whatever is left leaves the resident set: the
//     mappings are private and their pages are the file's, so a page used
//     again is faulted back from the page cache, as any page of a program
//     is. A mapping holding private copies of its pages (a
//     position-independent build's relocated read-only data, which the
//     loader wrote) is not unmapped: its copies would be lost;
//   - then the executable's cached pages that no process maps any more are
//     dropped (noreadahead.DropCached), so that a page used again is
//     read on its own, not mapped with the large folio around it.
//
// It is safe at any time and from any goroutine.
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
		if !r.PageoutUnsupported {
			switch err := madvise(s, madvPageout); {
			case errors.Is(err, syscall.EINVAL):
				r.PageoutUnsupported = true
			case err != nil:
				return r, fmt.Errorf("madvise(MADV_PAGEOUT) %#x-%#x of %s: %w", s.start, s.end, exe, err)
			}
		}
		if s.private {
			continue
		}
		if err := madvise(s, madvDontneed); err != nil {
			return r, fmt.Errorf("madvise(MADV_DONTNEED) %#x-%#x of %s: %w", s.start, s.end, exe, err)
		}
	}
	noreadahead.DropCached()
	r.After = rssFile()
	return r, nil
}

type span struct {
	start, end uintptr
	// private is set when the mapping holds pages of its own (copied on
	// write), which only the mapping has.
	private bool
}

func madvise(s span, advice uintptr) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, s.start, s.end-s.start, advice); e != 0 {
		return e
	}
	return nil
}

// readOnlyMappings lists the mappings of file in /proc/self/smaps that are
// not writable, each with whether it holds anonymous (copied) pages.
func readOnlyMappings(file string) ([]span, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil, fmt.Errorf("read the process's mappings: %w", err)
	}
	defer f.Close()
	var out []span
	current := -1 // index in out of the mapping whose fields follow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if v, ok := strings.CutPrefix(line, "Anonymous:"); ok {
			if current >= 0 && strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")) != "0" {
				out[current].private = true
			}
			continue
		}
		// A mapping's header: address perms offset dev inode [path]; a
		// field line's first word ends in a colon.
		if strings.HasSuffix(fields[0], ":") {
			continue
		}
		current = -1
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
		out = append(out, span{start: uintptr(start), end: uintptr(end)})
		current = len(out) - 1
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
