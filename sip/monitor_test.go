package sip

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/monitor"
)

func TestMonitorRequest(t *testing.T) {
	for _, tc := range []struct {
		dialed string
		mode   media.MonitorMode
		ext    string
		ok     bool
	}{
		{"*3110002", media.Listen, "10002", true},
		{"*32100020", media.Whisper, "100020", true},
		{"%2A3310002", media.Barge, "10002", true},
		{"*3410002", 0, "", false},
		{"*31", 0, "", false},
		{"*311234", 0, "", false},
		{"*31abcde", 0, "", false},
		{"10002", 0, "", false},
		{"", 0, "", false},
	} {
		mode, ext, ok := monitor.ParseRequest(tc.dialed)
		if ok != tc.ok || mode != tc.mode || ext != tc.ext {
			t.Errorf("%q: %v %q %v, want %v %q %v", tc.dialed, mode, ext, ok, tc.mode, tc.ext, tc.ok)
		}
	}
}

// makeAdmin gives u the built-in Admin role (calls.monitor: any).
func makeAdmin(t *testing.T, st directory.Store, u *directory.User) {
	t.Helper()
	roles, err := st.Roles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Builtin == directory.BuiltinAdmin {
			ids := []int64{r.ID}
			if _, err := st.UpdateUser(t.Context(), u.ID, directory.UserPatch{RoleIDs: &ids}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("no admin role")
}

// sendPayload sends one PCMU packet with the given payload from p to where
// the PBX told it to send.
func (p *callPhone) sendPayload(t *testing.T, seq uint16, ssrc uint32, payload []byte) {
	t.Helper()
	p.mu.Lock()
	dst := p.remote
	p.mu.Unlock()
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq,
		Timestamp: uint32(seq) * 160, SSRC: ssrc}, Payload: payload}).Marshal()
	if _, err := p.rtp.WriteToUDPAddrPort(raw, dst); err != nil {
		t.Fatal(err)
	}
}

// recvFrom reads p's RTP socket until a packet of ssrc comes, or fails.
func (p *callPhone) recvFrom(t *testing.T, ssrc uint32) rtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	for range 200 {
		p.rtp.SetReadDeadline(time.Now().Add(waitLimit))
		n, _, err := p.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("phone %s: no rtp from %x: %v", p.ext, ssrc, err)
		}
		var in rtp.Packet
		if in.Unmarshal(append([]byte(nil), buf[:n]...)) == nil && (ssrc == 0 || in.SSRC == ssrc) {
			return in
		}
	}
	t.Fatalf("phone %s: no rtp from %x", p.ext, ssrc)
	return rtp.Packet{}
}

// TestMonitorWhisper: an admin whispers to the callee of a call in
// progress. The admin hears the call, the callee hears the admin, the
// caller does not; the audit log names who listened; the admin's BYE ends
// only the monitoring, and every port comes back.
func TestMonitorWhisper(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	sup := addUser(t, st, "10003")
	makeAdmin(t, st, sup)
	addUser(t, st, "10004") // an agent: calls.monitor none
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	ps := newCallPhone(t, cs, "10003", answerOK)
	pd := newCallPhone(t, cs, "10004", answerOK)

	if _, err := ps.dial(t.Context(), "*3210002"); status(err) != 480 {
		t.Errorf("monitoring an idle extension: %v, want 480", err)
	}
	call, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatal(err)
	}
	calleeDlg := wait(t, pb.incoming, "answered call")
	if _, err := pd.dial(t.Context(), "*3110002"); status(err) != 403 || !strings.Contains(reasonOf(err), "Forbidden") {
		t.Errorf("an agent monitoring: %v, want 403 Forbidden", err)
	}

	mon, err := ps.dial(t.Context(), "*3210002")
	if err != nil {
		t.Fatalf("whisper: %v", err)
	}
	if _, err := pd.dial(t.Context(), "*3110001"); status(err) != 403 {
		t.Errorf("agent while monitored: %v", err)
	}

	silence := bytes.Repeat([]byte{0xFF}, 160) // μ-law zero
	voice := bytes.Repeat([]byte{0xA0}, 160)   // a loud μ-law value
	// The supervisor speaks; each party's next packet is then checked.
	// Packets cross loopback in order, but the supervisor's may still be
	// in the monitor's reader: repeat until its audio shows.
	heardSuper := false
	for i := uint16(1); i <= 50 && !heardSuper; i++ {
		ps.sendPayload(t, i, 0x5, voice)
		time.Sleep(5 * time.Millisecond) // pacing, as a phone would
		pa.sendPayload(t, i, 0xA, silence)
		got := pb.recvFrom(t, 0xA)
		heardSuper = !bytes.Equal(got.Payload, silence)
		pb.sendPayload(t, i, 0xB, silence)
		if got := pa.recvFrom(t, 0xB); !bytes.Equal(got.Payload, silence) {
			t.Fatal("the caller heard the whisper")
		}
	}
	if !heardSuper {
		t.Fatal("the callee never heard the supervisor")
	}
	if in := ps.recvFrom(t, 0); in.PayloadType != 0 || len(in.Payload) != 160 {
		t.Errorf("supervisor got pt %d with %d bytes", in.PayloadType, len(in.Payload))
	}

	entries, err := st.AuditLog(t.Context(), directory.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Action == "call.monitor" && e.ActorID == sup.ID && strings.Contains(e.Detail, "whisper") {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit entry for the whisper: %+v", entries)
	}

	if err := mon.Bye(t.Context()); err != nil {
		t.Fatalf("supervisor bye: %v", err)
	}
	// The call goes on without the supervisor.
	pa.sendRTP(t, pb, 3)
	if err := calleeDlg.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pa.ended, "bye at caller")
	_ = call
	if row := cs.nextCDR(t); row.Disposition != directory.Answered {
		t.Errorf("cdr %+v", row)
	}
	cs.noCallLeft(t)
	waitNoMonitors(t, cs)
}

// TestMonitorEndsWithTheCall: the PBX sends the listening supervisor a BYE
// when the monitored call ends.
func TestMonitorEndsWithTheCall(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	sup := addUser(t, st, "10003")
	makeAdmin(t, st, sup)
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	ps := newCallPhone(t, cs, "10003", answerOK)

	call, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatal(err)
	}
	wait(t, pb.incoming, "answered call")
	_, err = ps.dial(t.Context(), "*3110001") // the caller's side
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if _, err := ps.dial(t.Context(), "*3310002"); status(err) != 486 {
		t.Errorf("a second monitor: %v, want 486", err)
	}
	// Listen: the supervisor hears the caller, but speaks to nobody.
	pa.sendPayload(t, 1, 0xA, bytes.Repeat([]byte{0xA0}, 160))
	pb.recvFrom(t, 0xA)
	if err := call.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, ps.ended, "bye at the supervisor")
	cs.nextCDR(t)
	cs.noCallLeft(t)
	waitNoMonitors(t, cs)
}

// TestMonitorEndBeforeAck: the monitored call ends between the PBX's 200
// and the supervisor's ACK. The BYE waits for the ACK and then still comes.
func TestMonitorEndBeforeAck(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	sup := addUser(t, st, "10003")
	makeAdmin(t, st, sup)
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	ps := newCallPhone(t, cs, "10003", answerOK)

	call, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatal(err)
	}
	wait(t, pb.incoming, "answered call")
	mon, err := ps.dialNoAck(t.Context(), "*3110001")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if err := call.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	cs.nextCDR(t) // the call is over before the supervisor's ACK
	if err := mon.Ack(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, ps.ended, "bye at the supervisor")
	cs.noCallLeft(t)
	waitNoMonitors(t, cs)
}

func waitNoMonitors(t *testing.T, cs *callServer) {
	t.Helper()
	for range 500 {
		n := 0
		cs.b.monitors.Sessions.Range(func(any, any) bool { n++; return true })
		if n == 0 && cs.b.Pool.Free() == cs.b.Pool.Size() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("monitoring sessions left, %d of %d port pairs free", cs.b.Pool.Free(), cs.b.Pool.Size())
}
