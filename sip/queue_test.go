package sip

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/acd"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/queue"
)

// queueSetup: extensions 10001 (the caller) to 10004 with phones that
// answer as modes says (answerOK when not named), and queue 18000 made of
// q with agents 10002 and 10003 unless q names its members.
func queueSetup(t *testing.T, q directory.Queue, modes map[string]answerMode) (*callServer,
	map[string]*directory.User, map[string]*callPhone, *directory.Queue) {
	t.Helper()
	st, _ := openSQLite(t)
	users := map[string]*directory.User{}
	for _, ext := range []string{"10001", "10002", "10003", "10004"} {
		users[ext] = addUser(t, st, ext)
	}
	q.Number, q.Name = "18000", "Sales"
	if q.Members == nil {
		q.Members = []int64{users["10002"].ID, users["10003"].ID}
	}
	if err := st.CreateQueue(t.Context(), &q); err != nil {
		t.Fatal(err)
	}
	cs := startCallServer(t, st, CallConfig{})
	phones := map[string]*callPhone{}
	for ext := range users {
		phones[ext] = newCallPhone(t, cs, ext, modes[ext])
	}
	return cs, users, phones, &q
}

// agentCode dials an agent's feature code and wants 603 with frag.
func agentCode(t *testing.T, p *callPhone, code, frag string) {
	t.Helper()
	if got, reason := dialFeature(t, p, code); got != 603 || !strings.Contains(reason, frag) {
		t.Fatalf("%s from %s: %d %q, want 603 %q", code, p.ext, got, reason, frag)
	}
}

// agentState is the engine's state of a user's agent.
func agentState(cs *callServer, u *directory.User) string {
	for _, a := range cs.b.queues.Engine.Agents() {
		if a.ID == queue.AgentKey(u.ID) {
			return a.State
		}
	}
	return "unknown"
}

// untilAgent waits until the agent is in state.
func untilAgent(t *testing.T, cs *callServer, u *directory.User, state string) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if agentState(cs, u) == state {
			return
		}
		time.Sleep(10 * time.Millisecond) // polling: the engine has no events for tests
	}
	t.Fatalf("agent %s is %s, want %s", u.Extension, agentState(cs, u), state)
}

func queueStats(t *testing.T, cs *callServer, q *directory.Queue) acd.Stats {
	t.Helper()
	s, err := cs.b.queues.Engine.Stats(queue.Key(q.ID))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// callQueue dials the queue from 10001: the PBX answers at once.
func callQueue(t *testing.T, pa *callPhone) *sipgo.DialogClientSession {
	t.Helper()
	sess, err := pa.dial(t.Context(), "18000")
	if err != nil {
		t.Fatalf("dial the queue: %v", err)
	}
	return sess
}

// TestQueueRingAll: both agents log in by feature code; a call to the
// queue rings both; 10002 answers and talks with the caller, 10003's
// phone is cancelled; the row names the queue, the agent and the wait.
func TestQueueRingAll(t *testing.T) {
	cs, users, ph, q := queueSetup(t, directory.Queue{Strategy: "ring_all"}, map[string]answerMode{"10003": answerRing})
	agentCode(t, ph["10002"], "*60", "Logged In To Queues")
	agentCode(t, ph["10003"], "*60", "Logged In To Queues")
	sess := callQueue(t, ph["10001"])
	wait(t, ph["10002"].invites, "INVITE at 10002")
	wait(t, ph["10003"].invites, "INVITE at 10003")
	dlg := wait(t, ph["10002"].incoming, "10002 answers")
	wait(t, ph["10003"].cancels, "CANCEL at 10003")
	ph["10001"].sendRTP(t, ph["10002"], 5)
	if s := agentState(cs, users["10002"]); s != "on_call" {
		t.Errorf("10002 is %s, want on_call", s)
	}
	sess.Bye(t.Context())
	wait(t, ph["10002"].ended, "BYE at the agent")
	row := cs.nextCDR(t)
	if row.Queue != "18000" || row.CalleeID != users["10002"].ID || row.To != "10002" || row.QueueWait <= 0 ||
		row.Disposition != directory.Answered || row.Dialed != "18000" || !strings.Contains(row.Reason, "answered by 10002") {
		t.Errorf("row: %+v", row)
	}
	_ = dlg
	if s := queueStats(t, cs, q); s.Answered != 1 || s.Entered != 1 {
		t.Errorf("stats: %+v", s)
	}
	cs.noCallLeft(t)
}

// TestQueueLongestIdle: 10003 logged in first and has been idle longest:
// the call rings 10003 alone.
func TestQueueLongestIdle(t *testing.T) {
	cs, users, ph, _ := queueSetup(t, directory.Queue{Strategy: "longest_idle"}, nil)
	agentCode(t, ph["10003"], "*60", "Logged In")
	agentCode(t, ph["10002"], "*60", "Logged In")
	sess := callQueue(t, ph["10001"])
	inv := wait(t, ph["10003"].invites, "INVITE at 10003")
	if inv.From().Address.User != "10001" {
		t.Errorf("agent sees the call from %q, want 10001", inv.From().Address.User)
	}
	wait(t, ph["10003"].incoming, "10003 answers")
	ph["10001"].sendRTP(t, ph["10003"], 5)
	select {
	case <-ph["10002"].invites:
		t.Error("10002 rang though 10003 was idle longer")
	default:
	}
	if s := agentState(cs, users["10002"]); s != "idle" {
		t.Errorf("10002 is %s, want idle", s)
	}
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.CalleeID != users["10003"].ID || row.Queue != "18000" {
		t.Errorf("row: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestQueueMissedNextAgent: 10002, idle longest, declines (486): the
// caller is offered to 10003, who answers.
func TestQueueMissedNextAgent(t *testing.T) {
	cs, users, ph, q := queueSetup(t, directory.Queue{Strategy: "longest_idle"}, map[string]answerMode{"10002": answerBusy})
	agentCode(t, ph["10002"], "*60", "Logged In")
	agentCode(t, ph["10003"], "*60", "Logged In")
	sess := callQueue(t, ph["10001"])
	wait(t, ph["10002"].invites, "INVITE at 10002")
	wait(t, ph["10003"].invites, "INVITE at 10003 after 10002 declined")
	wait(t, ph["10003"].incoming, "10003 answers")
	ph["10001"].sendRTP(t, ph["10003"], 5)
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.CalleeID != users["10003"].ID {
		t.Errorf("row: %+v", row)
	}
	if s := queueStats(t, cs, q); s.Missed != 1 || s.Answered != 1 {
		t.Errorf("stats: %+v", s)
	}
	cs.noCallLeft(t)
}

// TestQueueRingTimeout: 10002 rings out after the queue's ring timeout
// (1 s) and the caller goes to 10003.
func TestQueueRingTimeout(t *testing.T) {
	cs, users, ph, _ := queueSetup(t, directory.Queue{Strategy: "longest_idle", RingSeconds: 1},
		map[string]answerMode{"10002": answerRing})
	agentCode(t, ph["10002"], "*60", "Logged In")
	agentCode(t, ph["10003"], "*60", "Logged In")
	sess := callQueue(t, ph["10001"])
	wait(t, ph["10002"].invites, "INVITE at 10002")
	wait(t, ph["10002"].cancels, "CANCEL at 10002 after the ring timeout")
	wait(t, ph["10003"].incoming, "10003 answers")
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.CalleeID != users["10003"].ID {
		t.Errorf("row: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestQueueAbandon: the caller hangs up while the agent's phone rings:
// the phone is cancelled, the row says abandoned, the agent is idle again.
func TestQueueAbandon(t *testing.T) {
	cs, users, ph, q := queueSetup(t, directory.Queue{}, map[string]answerMode{"10002": answerRing})
	agentCode(t, ph["10002"], "*60", "Logged In")
	sess := callQueue(t, ph["10001"])
	wait(t, ph["10002"].invites, "INVITE at 10002")
	sess.Bye(t.Context())
	wait(t, ph["10002"].cancels, "CANCEL at 10002")
	row := cs.nextCDR(t)
	if row.Disposition != directory.Cancelled || row.HangupBy != "caller" || row.Queue != "18000" ||
		row.CalleeID != 0 || !strings.Contains(row.Reason, "abandoned in queue 18000") {
		t.Errorf("row: %+v", row)
	}
	if s := queueStats(t, cs, q); s.Abandoned != 1 {
		t.Errorf("stats: %+v", s)
	}
	untilAgent(t, cs, users["10002"], "idle")
	cs.noCallLeft(t)
}

// TestQueuePauseAndOverflow: the only agent is paused (*62 with a reason
// code): the caller waits the queue's maximum (1 s) and goes to the
// overflow number, 10004, through the dial plan.
func TestQueuePauseAndOverflow(t *testing.T) {
	cs, users, ph, q := queueSetup(t, directory.Queue{MaxWaitSeconds: 1, Overflow: "10004"}, nil)
	agentCode(t, ph["10002"], "*60", "Logged In")
	agentCode(t, ph["10002"], "*6212", "Paused (Reason 12)")
	if s := agentState(cs, users["10002"]); s != "paused" {
		t.Fatalf("10002 is %s, want paused", s)
	}
	sess := callQueue(t, ph["10001"])
	wait(t, ph["10004"].incoming, "10004 answers the overflow")
	ph["10001"].sendRTP(t, ph["10004"], 5)
	select {
	case <-ph["10002"].invites:
		t.Error("a paused agent rang")
	default:
	}
	sess.Bye(t.Context())
	row := cs.nextCDR(t)
	if row.CalleeID != users["10004"].ID || row.Queue != "18000" || row.QueueWait < time.Second ||
		!strings.Contains(row.Reason, "overflow (max_wait) to 10004") {
		t.Errorf("row: %+v", row)
	}
	if s := queueStats(t, cs, q); s.Overflowed != 1 {
		t.Errorf("stats: %+v", s)
	}
	list, err := cs.st.QueueAgents(t.Context())
	if err != nil || len(list) != 1 || !list[0].Paused || list[0].Reason != "12" {
		t.Errorf("stored agents: %+v %v", list, err)
	}
	cs.noCallLeft(t)
}

// TestQueueUnpause: a caller waits while the agent is paused; *63 makes
// the agent ring.
func TestQueueUnpause(t *testing.T) {
	cs, users, ph, _ := queueSetup(t, directory.Queue{}, nil)
	agentCode(t, ph["10002"], "*60", "Logged In")
	agentCode(t, ph["10002"], "*62", "Paused")
	sess := callQueue(t, ph["10001"])
	board, err := cs.Server.QueueBoard(t.Context())
	if err != nil || len(board) != 1 || len(board[0].Waiting) != 1 || board[0].Waiting[0].Position != 1 ||
		board[0].Waiting[0].From != "10001" {
		t.Fatalf("board: %+v %v", board, err)
	}
	agentCode(t, ph["10002"], "*63", "Unpaused")
	wait(t, ph["10002"].incoming, "10002 answers after unpausing")
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.CalleeID != users["10002"].ID {
		t.Errorf("row: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestQueueWrapUp: after a queue call the agent wraps up (3 s) and is
// offered no caller until it ends.
func TestQueueWrapUp(t *testing.T) {
	cs, users, ph, _ := queueSetup(t, directory.Queue{WrapUpSeconds: 3}, nil)
	agentCode(t, ph["10002"], "*60", "Logged In")
	sess := callQueue(t, ph["10001"])
	wait(t, ph["10002"].incoming, "10002 answers")
	sess.Bye(t.Context())
	cs.nextCDR(t)
	if s := agentState(cs, users["10002"]); s != "wrap_up" {
		t.Fatalf("after the call 10002 is %s, want wrap_up", s)
	}
	sess = callQueue(t, ph["10001"])
	placed := time.Now()
	wait(t, ph["10002"].incoming, "10002 answers the next caller")
	if time.Since(placed) < time.Second {
		t.Errorf("the next caller rang the agent during wrap-up")
	}
	sess.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// TestQueueAgentCodesRefused: a user of no queue cannot log in; pausing
// before logging in is refused; nobody logged in and no overflow refuses
// the call with 480.
func TestQueueAgentCodesRefused(t *testing.T) {
	cs, _, ph, _ := queueSetup(t, directory.Queue{}, nil)
	if code, reason := dialFeature(t, ph["10004"], "*60"); code != 403 || !strings.Contains(reason, "Not A Queue Agent") {
		t.Errorf("*60 from a non-member: %d %q", code, reason)
	}
	if code, reason := dialFeature(t, ph["10002"], "*62"); code != 403 || !strings.Contains(reason, "Not Logged In") {
		t.Errorf("*62 before logging in: %d %q", code, reason)
	}
	_, err := ph["10001"].dial(t.Context(), "18000")
	if status(err) != 480 {
		t.Errorf("call to a queue nobody staffs: %v, want 480", err)
	}
	if row := cs.nextCDR(t); row.Queue != "" && row.Disposition != directory.Unavailable {
		t.Errorf("row: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestQueueMusicAndPosition: a waiting caller hears the queue's music (RTP
// from the PBX); with two callers waiting, the second is number 2 and
// moves up when the first hangs up.
func TestQueueMusicAndPosition(t *testing.T) {
	cs, _, ph, _ := queueSetup(t, directory.Queue{}, nil)
	agentCode(t, ph["10002"], "*60", "Logged In")
	agentCode(t, ph["10002"], "*62", "Paused")
	first := callQueue(t, ph["10001"])
	ph["10001"].rtp.SetReadDeadline(time.Now().Add(waitLimit))
	buf := make([]byte, 1500)
	if n, _, err := ph["10001"].rtp.ReadFromUDPAddrPort(buf); err != nil || n <= 12 {
		t.Fatalf("no music on hold at the caller: %v", err)
	}
	second := callQueue(t, ph["10004"])
	positions := func() []int {
		board, err := cs.Server.QueueBoard(t.Context())
		if err != nil || len(board) != 1 {
			t.Fatalf("board: %+v %v", board, err)
		}
		var out []int
		for _, w := range board[0].Waiting {
			out = append(out, w.Position)
		}
		return out
	}
	if got := positions(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("positions: %v, want [1 2]", got)
	}
	first.Bye(t.Context())
	cs.nextCDR(t)
	if got := positions(); len(got) != 1 || got[0] != 1 {
		t.Errorf("positions after the first left: %v, want [1]", got)
	}
	second.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// TestQueueAgentDND: an agent in do not disturb is busy, not rung: the
// caller goes to the other agent.
func TestQueueAgentDND(t *testing.T) {
	cs, users, ph, _ := queueSetup(t, directory.Queue{Strategy: "longest_idle"}, nil)
	agentCode(t, ph["10002"], "*60", "Logged In")
	agentCode(t, ph["10003"], "*60", "Logged In")
	agentCode(t, ph["10002"], "*78", "Do Not Disturb On")
	sess := callQueue(t, ph["10001"])
	wait(t, ph["10003"].incoming, "10003 answers")
	select {
	case <-ph["10002"].invites:
		t.Error("an agent in do not disturb rang")
	default:
	}
	if s := agentState(cs, users["10002"]); s != "busy" {
		t.Errorf("10002 is %s, want busy", s)
	}
	agentCode(t, ph["10002"], "*79", "Do Not Disturb Off")
	untilAgent(t, cs, users["10002"], "idle")
	sess.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// TestQueueAgentsSurviveRestart: agents logged in are stored; a server
// that starts on that store has them logged in (and paused as they were).
func TestQueueAgentsSurviveRestart(t *testing.T) {
	st, _ := openSQLite(t)
	a, b, c := addUser(t, st, "10001"), addUser(t, st, "10002"), addUser(t, st, "10003")
	q := &directory.Queue{Number: "18000", Name: "Sales", Members: []int64{b.ID, c.ID}}
	if err := st.CreateQueue(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	if err := st.SetQueueAgent(t.Context(), b.ID, &directory.QueueAgent{UserID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetQueueAgent(t.Context(), c.ID, &directory.QueueAgent{UserID: c.ID, Paused: true, Reason: "7"}); err != nil {
		t.Fatal(err)
	}
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	newCallPhone(t, cs, "10003", answerOK)
	_ = a
	sess := callQueue(t, pa)
	wait(t, pb.incoming, "10002, logged in before the start, answers")
	if s := agentState(cs, c); s != "paused" {
		t.Errorf("10003 is %s, want paused", s)
	}
	sess.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// TestQueueOverflowLoop: two queues overflow to each other and nobody is
// logged in to either: the caller is passed back and forth a few times
// and then the call ends, rather than forever.
func TestQueueOverflowLoop(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b := addUser(t, st, "10002")
	qa := &directory.Queue{Number: "18000", Name: "A", Overflow: "18001", Members: []int64{b.ID}}
	qb := &directory.Queue{Number: "18001", Name: "B", Overflow: "18000", Members: []int64{b.ID}}
	for _, q := range []*directory.Queue{qa, qb} {
		if err := st.CreateQueue(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerOK)
	callQueue(t, pa)
	wait(t, pa.ended, "BYE at the caller")
	if row := cs.nextCDR(t); !strings.Contains(row.Reason, "overflow loop") {
		t.Errorf("row: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestQueueDeleted: a queue deleted from the directory leaves the board.
func TestQueueDeleted(t *testing.T) {
	cs, _, _, q := queueSetup(t, directory.Queue{}, nil)
	if board, err := cs.Server.QueueBoard(t.Context()); err != nil || len(board) != 1 {
		t.Fatalf("board: %+v %v", board, err)
	}
	if err := cs.st.DeleteQueue(t.Context(), q.ID); err != nil {
		t.Fatal(err)
	}
	if board, err := cs.Server.QueueBoard(t.Context()); err != nil || len(board) != 0 {
		t.Errorf("board after the delete: %+v %v", board, err)
	}
}

// TestQueueByDID: a carrier calls a DID mapped to the queue's number: the
// call is queued like an internal one, and the agent takes it.
func TestQueueByDID(t *testing.T) {
	st, _ := openSQLite(t)
	b := addUser(t, st, "10002")
	q := &directory.Queue{Number: "18000", Name: "Sales", Members: []int64{b.ID}}
	if err := st.CreateQueue(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	car := startCarrier(t, false)
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()}, DIDs: map[string]string{"+48221000100": "18000"}})
	pb := newCallPhone(t, cs, "10002", answerOK)
	agentCode(t, pb, "*60", "Logged In")
	host, port, _ := net.SplitHostPort(cs.udp)
	dua := sipgoDialogUA(car)
	rtpAddr := car.rtp.LocalAddr().(*net.UDPAddr)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio " +
		strconv.Itoa(rtpAddr.Port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+48601999888", Host: "127.0.0.2"},
		Params: sip.HeaderParams{{K: "tag", V: "cq1"}}}
	sess, err := dua.Invite(t.Context(), sip.Uri{Scheme: "sip", User: "+48221000100", Host: host, Port: atoiPort(port)},
		[]byte(body), from, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(t.Context(), sipgoAnswer(nil)); err != nil {
		t.Fatalf("inbound call: %v", err)
	}
	sess.Ack(t.Context())
	wait(t, pb.incoming, "the agent answers the inbound caller")
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.Queue != "18000" || row.CalleeID != b.ID || row.From != "+48601999888" ||
		row.Direction != directory.Inbound {
		t.Errorf("row: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestQueueFromIVR: an IVR menu's option sends the caller to the queue's
// number: the menu's endpoint gives way to the queue's music and the
// logged-in agent takes the call.
func TestQueueFromIVR(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b := addUser(t, st, "10002")
	q := &directory.Queue{Number: "18000", Name: "Sales", Members: []int64{b.ID}}
	if err := st.CreateQueue(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{opt("1", directory.IVRQueue, "18000")}})
	cs, _ := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	agentCode(t, pb, "*60", "Logged In")
	sess, err := pa.dial(t.Context(), "80000")
	if err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600)
	pa.ivrDigits(t, "1")
	wait(t, pb.incoming, "the agent answers the caller from the menu")
	pa.sendRTP(t, pb, 5)
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.Queue != "18000" || row.CalleeID != b.ID {
		t.Errorf("row: %+v", row)
	}
	cs.noCallLeft(t)
}
