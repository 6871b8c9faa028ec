//go:build !unix

package sip

// fileLimit returns a conservative limit where RLIMIT_NOFILE does not exist.
func fileLimit() int { return 1024 }
