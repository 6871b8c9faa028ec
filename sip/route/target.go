package route

import (
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/creds"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
)

// What routing decides and the dialer rings: a route (who calls whom, and
// the targets to ring) and its targets, or the refusal of a call that goes
// nowhere.

// Answerer is a PBX service that answers a call itself instead of ringing
// anyone: a queue, an IVR menu, a mailbox. The route only carries it to the
// call, which knows what it does.
type Answerer any

// Route is where a call goes.
type Route struct {
	Dir      directory.Direction
	Dialed   string
	Targets  []Target
	CalleeID int64
	GroupID  int64
	To       string // callee number for the CDR
	From     string // caller number for the CDR
	CallerID int64
	FromUser string // From user part on the B side
	FromName string // From display name on the B side
	// Failover: the targets are trunks, tried one after the other
	// rather than rung at once.
	Failover bool
	// Headers go on every INVITE of the route's forks (an intercom
	// call's auto-answer).
	Headers []sip.Header
	// Answer: the PBX answers the call itself instead of ringing
	// anyone (the number is a queue's or an IVR menu's); no targets.
	Answer Answerer

	// Forwarding. Chain holds the extensions the call was forwarded
	// from, in order, and Notes why, for the CDR. ForwardUser is the user
	// whose busy and no-answer forwards apply while the targets ring, for
	// RingTime (0: the PBX ring time). First is the index in the call's
	// forks of the current leg's first fork: the ones before belong to
	// legs forwarded away from. Stale are the CDR reasons that ranked
	// those legs' failures too, Final the current leg's own. Ending: the
	// ringing is ending, no forward applies any more.
	Chain       []string
	Notes       []string
	ForwardUser *creds.Credential
	RingTime    time.Duration
	First       int
	Stale       []string
	Final       string
	Ending      bool
}

// Target is one place a fork rings.
type Target struct {
	UserID    int64
	Ext       string // "" for the trunk
	URI       sip.Uri
	ToUser    string
	Domain    string // host of From and To on the B side
	Dest      string // host:port the INVITE goes to
	Transport string
	Trunk     *trunk.Trunk
	FromUser  string    // From user part when not the route's (per trunk)
	Identity  *Identity // the caller's identity on the trunk (NewIdentity)
	RouteSet  []string  // Route set (a phone's Path, RFC 3327)
}

// Refusal is a call that goes nowhere: its final response and CDR.
type Refusal struct {
	Code   int
	Reason string
	Disp   directory.Disposition
	Why    string
	Err    error // what failed, for the log, when the refusal is ours
}

// RingFor is how long the targets of a call on rt ring before the caller
// gets 480 (or the no-answer forward): the callee's own ring time when
// set, otherwise def.
func (rt *Route) RingFor(def time.Duration) time.Duration {
	if rt != nil && rt.RingTime > 0 {
		return rt.RingTime
	}
	return def
}

// NoteForwards puts the forwards a call on rt followed into its CDR
// row's reason, in place of the failures of the legs it was forwarded
// away from.
func (rt *Route) NoteForwards(row *directory.Call) {
	if rt == nil || len(rt.Notes) == 0 {
		return
	}
	note := "forwarded from " + strings.Join(rt.Notes, ", ")
	reason := row.Reason
	if reason == "" || slices.Contains(rt.Stale, reason) {
		reason = rt.Final
	}
	if reason != "" {
		note += "; " + reason
	}
	row.Reason = note
}
