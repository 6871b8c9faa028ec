package sip

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// What routing decides and the dialer rings: a route (who calls whom, and
// the targets to ring) and its targets.

// route is where a call goes.
type route struct {
	dir      directory.Direction
	dialed   string
	targets  []target
	calleeID int64
	groupID  int64
	to       string // callee number for the CDR
	from     string // caller number for the CDR
	callerID int64
	fromUser string // From user part on the B side
	fromName string // From display name on the B side
	// failover: the targets are trunks, tried one after the other
	// (failoverStatus) rather than rung at once.
	failover bool
	// headers go on every INVITE of the route's forks (intercom's
	// auto-answer, intercom.go).
	headers []sip.Header
	// answer: the PBX answers the call itself instead of ringing
	// anyone (the number is a queue's or an IVR menu's); no targets.
	answer answerer

	// Forwarding (forward.go). chain holds the extensions the call was
	// forwarded from, in order, and notes why, for the CDR. fwdUser is
	// the user whose busy and no-answer forwards apply while the targets
	// ring, for ringTime (0: the PBX ring time). first is the index in
	// the call's forks of the current leg's first fork: the ones before
	// belong to legs forwarded away from. stale are the CDR reasons that
	// ranked those legs' failures too, final the current leg's own.
	chain    []string
	notes    []string
	fwdUser  *credential
	ringTime time.Duration
	first    int
	stale    []string
	final    string
	ending   bool
}

// target is one place a fork rings.
type target struct {
	userID    int64
	ext       string // "" for the trunk
	uri       sip.Uri
	toUser    string
	domain    string // host of From and To on the B side
	dest      string // host:port the INVITE goes to
	transport string
	trunk     *Trunk
	fromUser  string         // From user part when not the route's (per trunk)
	id        *trunkIdentity // the caller's identity on the trunk (identity.go)
	route     []string       // Route set (a phone's Path, RFC 3327)
}

// refusal is a call that goes nowhere: its final response and CDR.
type refusal struct {
	code   int
	reason string
	disp   directory.Disposition
	why    string
	err    error // what failed, for the log, when the refusal is ours
}
