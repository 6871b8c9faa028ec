package directory

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// AuditEntry records who did what: every change (with the fields before
// and after), every listen to or download of a recording, refused
// attempts on objects, failed and throttled logins, SIP bans and lifts.
//
// Entries form a hash chain: Hash covers every field and PrevHash, the
// Hash of the entry before it (by ID), so that an entry changed, removed
// or slipped in afterwards no longer fits (VerifyAudit).
type AuditEntry struct {
	ID        int64
	At        time.Time // UTC, to the microsecond
	ActorID   int64     // user ID, 0 for the system or an operator command
	Actor     string    // how the actor was known: email, "cli", "system"
	IP        string    // the source address of the request, "" for the CLI and the system
	UserAgent string
	Action    string // "user.create", "recording.listen", ...
	Object    string // "user:12", "recording:7"
	Detail    string
	Before    string // changes: a JSON object of the changed fields before, secrets redacted
	After     string // … and after
	PrevHash  string // hex SHA-256 of the previous entry; "" for the first
	Hash      string // hex SHA-256 of this entry with PrevHash
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	ActorID int64
	Action  string    // prefix, e.g. "user." or "recording."
	Object  string    // exact, e.g. "user:12"
	From    time.Time // at or after; zero: no bound
	To      time.Time // before; zero: no bound
	Page    Page
}

// Redacted is what a secret field holds in an entry's Before and After.
const Redacted = "[redacted]"

// AuditTime is the time an entry is stored and hashed with: UTC, to the
// microsecond, which both backends keep exactly.
func AuditTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ChainHash returns the hash of e chained to e.PrevHash: SHA-256 over every
// field, each prefixed by its length so that no two entries encode alike.
// e.At must be an AuditTime.
func (e *AuditEntry) ChainHash() string {
	h := sha256.New()
	var n [8]byte
	for _, f := range []string{"switchboard-audit-v1", strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano),
		strconv.FormatInt(e.ActorID, 10), e.Actor, e.IP, e.UserAgent, e.Action, e.Object, e.Detail, e.Before, e.After, e.PrevHash} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditChainError names the first entry that does not fit the chain.
type AuditChainError struct {
	ID     int64
	At     time.Time
	Action string
	Reason string
}

func (e *AuditChainError) Error() string {
	return fmt.Sprintf("audit entry %d (%s, %s): %s", e.ID, e.At.UTC().Format(time.RFC3339), e.Action, e.Reason)
}

// AuditChain walks a log in ID order and checks each entry against the one
// before it. Entries written before the chain existed (no hash, at the
// start of the log) are counted as Legacy; after the first hashed entry
// every one must carry a hash.
type AuditChain struct {
	Entries int    // entries checked
	Legacy  int    // entries older than the chain, not covered
	Head    string // hash of the last entry: note it to detect a cut tail
	started bool
	lastID  int64
}

// Next checks e, the entry after the ones seen so far; the first error is
// an *AuditChainError.
func (c *AuditChain) Next(e *AuditEntry) error {
	bad := func(reason string) error {
		return &AuditChainError{ID: e.ID, At: e.At, Action: e.Action, Reason: reason}
	}
	if e.ID <= c.lastID {
		return bad("out of order")
	}
	c.lastID = e.ID
	if e.Hash == "" && !c.started {
		c.Legacy++
		return nil
	}
	c.started = true
	switch {
	case e.Hash == "":
		return bad("no hash after the chain began (removed?)")
	case e.PrevHash != c.Head:
		return bad("does not follow the entry before it (one removed or inserted)")
	case e.ChainHash() != e.Hash:
		return bad("its content does not match its hash (changed)")
	}
	c.Head = e.Hash
	c.Entries++
	return nil
}
