// Package noreadahead keeps start-up's resident set to the program
// pages start-up runs: no read-ahead of the executable, and none of its
// pages left in the page cache for fault-around to map.
//
// Two things make a program's resident set far larger than the pages it
// touches, on Linux 6.18 as measured here (2026-12-07): each fault maps
// up to 64 KiB of cached neighbours (fault-around), and where the file
// was read ahead into large folios (since Linux 6.16 ext4 does, as XFS
// did before) each fault maps the whole folio, up to 2 MiB: touching one
// page in 256 KiB of the controller's binary mapped 72 MB of its 90 after
// the page cache had been dropped, 1.4 MB when every fault had been read
// on its own. So, as the first thing the program does after the runtime's
// own set-up, init advises MADV_RANDOM on the executable's read-only
// mappings (a fault then reads only its page, never ahead) and asks the
// kernel to drop the executable's cached pages no process maps
// (POSIX_FADV_DONTNEED), so the folios read ahead by an earlier run or
// written by the linker are read again page by page as they are used.
// Another process mapping them keeps them. A binary just written (a build,
// an image layer just unpacked) is written back first: the kernel keeps
// dirty pages cached whatever it is advised, for up to 30 s.
//
// It is imported for its side effect, by main, and must stay free of
// imports beyond syscall: Go initialises packages in order of import path
// among those whose imports are done, so a package with no dependencies
// runs its init before the large libraries (client-go's scheme, the AWS
// SDK, the notification services) register their types, which is most of
// what start-up touches.
//
// internal/residency later gives back what start-up used; a controller run
// with --release-startup-pages=false restores the default advice.
package noreadahead
