package sip

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"github.com/switchboard-pbx/switchboard/directory"
)

// quiet checks that nothing reaches p's RTP socket for a while, after
// reading away what was already there: what it proves absent would have
// crossed loopback long before.
func (p *callPhone) quiet(t *testing.T, what string) {
	t.Helper()
	buf := make([]byte, 1500)
	p.rtp.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	defer p.rtp.SetReadDeadline(time.Time{})
	if n, from, err := p.rtp.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatalf("phone %s: %s: got %d bytes from %s, want nothing", p.ext, what, n, from)
	}
}

// drain reads away what waits on p's RTP socket.
func (p *callPhone) drain() {
	buf := make([]byte, 1500)
	for {
		p.rtp.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := p.rtp.ReadFromUDPAddrPort(buf); err != nil {
			p.rtp.SetReadDeadline(time.Time{})
			return
		}
	}
}

// pagedGroup starts a call server with a talker (10001, calls.intercom
// any), an agent without it (10009) and three members of group 20000,
// each with a phone that answers (or as modes say, in order).
func pagedGroup(t *testing.T, modes ...answerMode) (*callServer, *callPhone, *callPhone, []*callPhone, *directory.Group) {
	t.Helper()
	st, _ := openSQLite(t)
	talker := addUser(t, st, "10001")
	setIntercom(t, st, talker, "any")
	agent := addUser(t, st, "10009")
	setIntercom(t, st, agent, "none")
	var ids []int64
	for _, ext := range []string{"10002", "10003", "10004"} {
		ids = append(ids, addUser(t, st, ext).ID)
	}
	g := addGroup(t, st, "Hall", "20000", ids...)
	cs := startCallServer(t, st, CallConfig{})
	pt := newCallPhone(t, cs, "10001", answerOK)
	pd := newCallPhone(t, cs, "10009", answerOK)
	var members []*callPhone
	for i, ext := range []string{"10002", "10003", "10004"} {
		mode := answerOK
		if i < len(modes) {
			mode = modes[i]
		}
		members = append(members, newCallPhone(t, cs, ext, mode))
	}
	return cs, pt, pd, members, g
}

// TestPaging: *91 and a group's number rings every member's phone with
// the auto-answer headers; all three hear the talker and the talker hears
// nothing back; one listener hanging up leaves the others hearing; the
// talker hanging up ends every listener's dialog; one CDR row for the
// page. An agent without calls.intercom is refused with 403.
func TestPaging(t *testing.T) {
	cs, pt, pd, members, g := pagedGroup(t)

	if _, err := pd.dial(t.Context(), "*9120000"); status(err) != 403 || !strings.Contains(reasonOf(err), "intercom") {
		t.Fatalf("paging without the permission: %v (%q), want 403", err, reasonOf(err))
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Denied || !strings.HasPrefix(row.Reason, "paging") {
		t.Errorf("refused page's row %+v", row)
	}
	if _, err := pt.dial(t.Context(), "*9110002"); status(err) != 404 {
		t.Errorf("paging a user: %v, want 404 (a user is called on intercom)", err)
	}
	cs.nextCDR(t)

	var lampsMu sync.Mutex
	var lamps []LegEvent
	cs.ObserveLegs(func(e LegEvent) {
		lampsMu.Lock()
		lamps = append(lamps, e)
		lampsMu.Unlock()
	})
	sess, err := pt.dial(t.Context(), "*9120000")
	if err != nil {
		t.Fatalf("page: %v", err)
	}
	dlgs := make([]*sipgo.DialogServerSession, len(members))
	for i, m := range members {
		inv := wait(t, m.invites, "page invite at "+m.ext)
		wantAutoAnswer(t, inv, cs.realm())
		if i == 0 {
			golden(t, "paging.txt", autoAnswerLines(inv))
		}
		dlgs[i] = wait(t, m.incoming, "page answered at "+m.ext)
	}
	// Each listener's answer reaches the PBX before its ACK, and the
	// phone knows where to send only then: every one hears the talker.
	for _, m := range members {
		pt.sendRTP(t, m, 3)
	}
	// The listeners speak; the talker hears none of it.
	silence := bytes.Repeat([]byte{0xFF}, 160)
	for _, m := range members {
		for seq := uint16(1); seq <= 5; seq++ {
			m.sendPayload(t, seq, 0xB0+uint32(seq), silence)
		}
	}
	pt.quiet(t, "listeners' audio")

	// One listener hangs up; the others still hear, it no longer does.
	if err := dlgs[1].Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		m.drain()
	}
	pt.sendRTP(t, members[0], 3)
	pt.sendRTP(t, members[2], 3)
	members[1].quiet(t, "after hanging up")

	// The talker hangs up: the listeners left get BYE.
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, members[0].ended, "bye at "+members[0].ext)
	wait(t, members[2].ended, "bye at "+members[2].ext)
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || row.Dialed != "*9120000" || row.To != "20000" ||
		row.GroupID != g.ID || row.From != "10001" || row.HangupBy != "caller" ||
		row.Reason != "paging: 3 of 3 members answered" {
		t.Errorf("page's row %+v", row)
	}
	cs.noCallLeft(t)
	select {
	case row := <-cs.cdr:
		t.Errorf("a second row for the page: %+v", row)
	default:
	}
	// Busy lamps: every party's leg was answered, and every leg is over.
	lampsMu.Lock()
	defer lampsMu.Unlock()
	answered, last := map[string]bool{}, map[string]LegEvent{}
	for _, e := range lamps {
		if e.State == LegAnswered {
			answered[e.Ext] = true
		}
		last[e.LegID] = e
	}
	for _, ext := range []string{"10001", "10002", "10003", "10004"} {
		if !answered[ext] {
			t.Errorf("no answered leg event for %s: %+v", ext, lamps)
		}
	}
	for id, e := range last {
		if e.State != LegEnded || e.CallID != sess.InviteRequest.CallID().Value() {
			t.Errorf("leg %s ends %+v", id, e)
		}
	}
	for _, m := range members {
		select {
		case <-m.ended:
			if m == members[1] {
				t.Errorf("%s got a BYE after hanging up itself", m.ext)
			}
		default:
		}
	}
}

// TestPagingSkipsMembersWhoDoNotAnswer: a member whose phone only rings is
// cancelled once the others are connected and the answer wait is over;
// the page goes on with those who answered, and when the last listener
// hangs up the talker gets BYE.
func TestPagingSkipsMembersWhoDoNotAnswer(t *testing.T) {
	cs, pt, _, members, _ := pagedGroup(t, answerOK, answerOK, answerRing)
	sess, err := pt.dial(t.Context(), "*9120000")
	if err != nil {
		t.Fatalf("page: %v", err)
	}
	var dlgs []*sipgo.DialogServerSession
	for _, m := range members[:2] {
		dlgs = append(dlgs, wait(t, m.incoming, "page answered at "+m.ext))
	}
	wait(t, members[2].invites, "page invite at the silent phone")
	wait(t, members[2].cancels, "the silent phone cancelled")
	pt.sendRTP(t, members[0], 3)
	for _, d := range dlgs {
		if err := d.Bye(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-sess.Context().Done():
	case <-time.After(waitLimit):
		t.Fatal("the talker got no BYE when the last listener left")
	}
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || row.Reason != "paging: 2 of 3 members answered" || row.HangupBy != "system" {
		t.Errorf("page's row %+v", row)
	}
	cs.noCallLeft(t)
}

// TestPagingCancelledByTalker: the talker gives up while every member's
// phone still rings: each is cancelled, and nothing of the page is left.
func TestPagingCancelledByTalker(t *testing.T) {
	cs, pt, _, members, _ := pagedGroup(t, answerRing, answerRing, answerRing)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := pt.dial(ctx, "*9120000"); done <- err }()
	for _, m := range members {
		wait(t, m.invites, "page invite at "+m.ext)
	}
	cancel()
	if err := wait(t, done, "the talker's dial"); err == nil {
		t.Fatal("a cancelled page connected")
	}
	for _, m := range members {
		wait(t, m.cancels, "cancel at "+m.ext)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Cancelled || row.HangupBy != "caller" ||
		row.Reason != "paging: 0 of 3 members answered" {
		t.Errorf("cancelled page's row %+v", row)
	}
	cs.noCallLeft(t)
}

// TestPagingWithinDepartment: an agent given calls.intercom department
// pages a group: the member outside the agent's department is not rung,
// the others hear the page.
func TestPagingWithinDepartment(t *testing.T) {
	st, _ := openSQLite(t)
	setIntercom(t, st, addUser(t, st, "10001"), "department") // the agent, in the default group
	inside := []*directory.User{addUser(t, st, "10002"), addUser(t, st, "10003")}
	outside := addUser(t, st, "10004")
	g := addGroup(t, st, "Hall", "20000", inside[0].ID, inside[1].ID, outside.ID)
	only := []int64{g.ID} // the outsider belongs to the paged group only
	if _, err := st.UpdateUser(t.Context(), outside.ID, directory.UserPatch{GroupIDs: &only}); err != nil {
		t.Fatal(err)
	}
	cs := startCallServer(t, st, CallConfig{})
	pt := newCallPhone(t, cs, "10001", answerOK)
	var in []*callPhone
	for _, u := range inside {
		in = append(in, newCallPhone(t, cs, u.Extension, answerOK))
	}
	po := newCallPhone(t, cs, "10004", answerOK)
	sess, err := pt.dial(t.Context(), "*9120000")
	if err != nil {
		t.Fatalf("page: %v", err)
	}
	for _, m := range in {
		wait(t, m.incoming, "page answered at "+m.ext)
	}
	pt.sendRTP(t, in[0], 2)
	pt.sendRTP(t, in[1], 2)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, m := range in {
		wait(t, m.ended, "bye at "+m.ext)
	}
	if row := cs.nextCDR(t); row.Reason != "paging: 2 of 2 members answered" {
		t.Errorf("page's row %+v", row)
	}
	select {
	case inv := <-po.invites:
		t.Errorf("a member outside the agent's department was paged:\n%s", inv)
	default:
	}
	cs.noCallLeft(t)
}

// TestPagingNobodyAnswers: when every member's phone refuses, the talker
// gets 480 at once, and the row says nobody answered.
func TestPagingNobodyAnswers(t *testing.T) {
	cs, pt, _, _, _ := pagedGroup(t, answerBusy, answerBusy, answerRefuse)
	if _, err := pt.dial(t.Context(), "*9120000"); status(err) != 480 {
		t.Fatalf("page nobody answers: %v, want 480", err)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.NoAnswer ||
		row.Reason != "paging: 0 of 3 members answered; nobody answered" {
		t.Errorf("page's row %+v", row)
	}
	cs.noCallLeft(t)
}

// TestPagingSkipsMembersInACall: a member on a call is not paged (their
// phone would hold the call to answer); the others are.
func TestPagingSkipsMembersInACall(t *testing.T) {
	cs, pt, pd, members, _ := pagedGroup(t)
	call, err := pd.dial(t.Context(), members[2].ext)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, members[2].invites, "call's invite at "+members[2].ext)
	wait(t, members[2].incoming, "call at "+members[2].ext)
	sess, err := pt.dial(t.Context(), "*9120000")
	if err != nil {
		t.Fatalf("page: %v", err)
	}
	for _, m := range members[:2] {
		wait(t, m.incoming, "page answered at "+m.ext)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, m := range members[:2] {
		wait(t, m.ended, "bye at "+m.ext)
	}
	if row := cs.nextCDR(t); row.Reason != "paging: 2 of 2 members answered" {
		t.Errorf("page's row %+v", row)
	}
	select {
	case inv := <-members[2].invites:
		t.Errorf("a member on a call was paged:\n%s", inv)
	default:
	}
	if err := call.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, members[2].ended, "bye at "+members[2].ext)
	cs.nextCDR(t)
	cs.noCallLeft(t)
}
