//go:build unix

package sip

import "syscall"

// fileLimit returns the process's limit on open files (Go raises the soft
// limit to the hard one at start), 1024 when it cannot be read.
func fileLimit() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur == 0 {
		return 1024
	}
	return int(min(l.Cur, 1<<30))
}
