package sip

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// startRecordingServer is startCallServer with recordings written to dir;
// the recording rows stored at answer come on the returned channel.
func startRecordingServer(t testing.TB, st directory.Store, dir string) (*callServer, <-chan directory.Recording) {
	t.Helper()
	cs := &callServer{cdr: make(chan directory.Call, 100), st: st}
	recs := make(chan directory.Recording, 100)
	cs.testServer = startServerHooked(t, st, nil, func(s *Server) {
		cs.b = s.calls
		cs.b.Hooks.Ended = func(c directory.Call) { cs.cdr <- c }
		cs.b.Hooks.Recording = func(r directory.Recording) { recs <- r }
	}, func(c *Config) {
		c.Calls = CallConfig{RTPLow: 45000, RTPHigh: 45999, MediaIP: netip.MustParseAddr("127.0.0.1"),
			MediaTimeout: time.Minute}
		c.RecordingsDir = dir
	})
	return cs, recs
}

func setSetting(t testing.TB, st directory.Store, key, value string) {
	t.Helper()
	if err := st.SetSetting(t.Context(), key, value); err != nil {
		t.Fatalf("set %s: %v", key, err)
	}
}

// tone is what a phone says: packets start to start+n of 20 ms of a PCMU
// sine at freq, with the odds of a packet being dropped or swapped with
// its successor (never the first or last packet).
type tone struct {
	freq          float64
	ssrc          uint32
	start, n      int
	drop, reorder float64
	seed          uint64
}

// talk sends tn from p to the PBX, paced in real time. It returns when it
// sent the first and the last packet.
func (p *callPhone) talk(t testing.TB, tn tone) (first, last time.Time) {
	freq, ssrc, n, drop, reorder := tn.freq, tn.ssrc, tn.n, tn.drop, tn.reorder
	p.mu.Lock()
	dst := p.remote
	p.mu.Unlock()
	if !dst.IsValid() {
		t.Errorf("phone %s has no media address", p.ext)
		return
	}
	rng := rand.New(rand.NewPCG(tn.seed, 1))
	packet := func(i int) []byte {
		i += tn.start
		pcm := make([]int16, 160)
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i*160+j)/8000))
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: ssrc,
			SequenceNumber: uint16(1000 + i), Timestamp: uint32(5000 + 160*i)}, Payload: make([]byte, 160)}
		media.PCMU.Encode(pkt.Payload, pcm)
		raw, _ := pkt.Marshal()
		if p.seal != nil {
			raw = p.seal(raw)
		}
		return raw
	}
	// Packets go on a 20 ms grid from the first: a sender held up (a busy
	// machine, the race detector) catches up at once, as a phone's clock
	// would, instead of stretching its stream.
	base := time.Now()
	var held []byte // a packet sent after its successor
	for i := 0; i < n; i++ {
		if i > 0 {
			time.Sleep(time.Until(base.Add(time.Duration(i) * 20 * time.Millisecond)))
		}
		raw := packet(i)
		inner := i > 0 && i < n-2
		switch r := rng.Float64(); {
		case inner && held == nil && r < drop:
			raw = nil
		case inner && held == nil && r < drop+reorder:
			held, raw = raw, nil
		}
		if raw != nil {
			p.rtp.WriteToUDPAddrPort(raw, dst)
		}
		if held != nil && raw != nil {
			p.rtp.WriteToUDPAddrPort(held, dst)
			held = nil
		}
		if i == 0 {
			first = time.Now()
		}
	}
	return first, time.Now()
}

// hear counts the RTP packets of ssrc reaching p until the returned
// function is called; it returns the count.
func (p *callPhone) hear(ssrc uint32) func() int {
	done := make(chan struct{})
	count := make(chan int, 1)
	go func() {
		n := 0
		buf := make([]byte, 1500)
		for {
			select {
			case <-done:
				count <- n
				return
			default:
			}
			p.rtp.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			m, _, err := p.rtp.ReadFromUDPAddrPort(buf)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if err != nil {
				count <- n
				return
			}
			var in rtp.Packet
			if in.Unmarshal(buf[:m]) == nil && in.SSRC == ssrc {
				n++
			}
		}
	}()
	return func() int { close(done); return <-count }
}

const (
	callerSSRC = 0x1111
	calleeSSRC = 0x2222
)

// conversation places a call from pa to pb's extension, has both talk at
// once (440 Hz from the caller, 1000 Hz from the callee) for n packets,
// and hangs up from the caller. It returns the CDR row, the talk time and
// the packets each side heard.
func conversation(t *testing.T, cs *callServer, pa, pb *callPhone, n int, drop, reorder float64) (directory.Call, time.Duration, [2]int) {
	t.Helper()
	sess, err := pa.dial(t.Context(), pb.ext)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	stopA, stopB := pa.hear(calleeSSRC), pb.hear(callerSSRC)
	_, _, skew := bothTalk(t, pa, pb, 0, n, drop, reorder)
	heard := [2]int{stopA(), stopB()}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pb.ended, "bye at callee")
	row := cs.nextCDR(t)
	// The talk time is what the phones said, n packets of 20 ms each, and
	// how much later the second started than the first: the recorder
	// places each side by its timestamps from its first packet's arrival.
	return row, time.Duration(n)*20*time.Millisecond + skew, heard
}

// bothTalk has pa say 440 Hz and pb 1000 Hz at once, packets start to
// start+n, and returns when the first and the last packet went, and how
// far apart the two first packets went.
func bothTalk(t *testing.T, pa, pb *callPhone, start, n int, drop, reorder float64) (first, last time.Time, skew time.Duration) {
	var wg sync.WaitGroup
	var firsts, lasts [2]time.Time
	wg.Go(func() {
		firsts[0], lasts[0] = pa.talk(t, tone{440, callerSSRC, start, n, drop, reorder, uint64(start + 1)})
	})
	wg.Go(func() {
		firsts[1], lasts[1] = pb.talk(t, tone{1000, calleeSSRC, start, n, drop, reorder, uint64(start + 2)})
	})
	wg.Wait()
	first, last = firsts[0], lasts[0]
	if firsts[1].Before(first) {
		first = firsts[1]
	}
	if lasts[1].After(last) {
		last = lasts[1]
	}
	return first, last, max(firsts[1].Sub(firsts[0]), firsts[0].Sub(firsts[1]))
}

// recordingsOf returns the recording rows of a call, deleted ones too.
func recordingsOf(t testing.TB, st directory.Store, callID int64) []directory.Recording {
	t.Helper()
	recs, err := st.Recordings(t.Context(), directory.RecordingFilter{CallID: callID,
		States: []directory.RecordingState{directory.RecordingActive, directory.RecordingDone,
			directory.RecordingFailed, directory.RecordingRepaired, directory.RecordingDeleted},
		Vis: directory.Visibility{All: true}})
	if err != nil {
		t.Fatalf("recordings of call %d: %v", callID, err)
	}
	return recs
}

// wavChannels reads a 16-bit stereo WAV as written by the recorder and
// checks that its header sizes match the file.
func wavChannels(t testing.TB, path string) (left, right []int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" || string(b[36:40]) != "data" {
		t.Fatalf("%s: not a recorder wav: %x", path, b[:min(len(b), 44)])
	}
	le := binary.LittleEndian
	if riff, data := le.Uint32(b[4:]), le.Uint32(b[40:]); int(riff) != len(b)-8 || int(data) != len(b)-44 {
		t.Errorf("%s: header sizes riff %d data %d, file %d bytes", path, riff, data, len(b))
	}
	if ch, rate := le.Uint16(b[22:]), le.Uint32(b[24:]); ch != 2 || rate != 8000 {
		t.Errorf("%s: %d channels at %d Hz, want 2 at 8000", path, ch, rate)
	}
	for i := 44; i+4 <= len(b); i += 4 {
		left = append(left, int16(le.Uint16(b[i:])))
		right = append(right, int16(le.Uint16(b[i+2:])))
	}
	return left, right
}

// goertzel returns the power of freq in x, normalised by its length.
func goertzel(x []int16, freq float64) float64 {
	if len(x) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	n := float64(len(x))
	return (s1*s1 + s2*s2 - coeff*s1*s2) / (n * n)
}

// checkTone checks that x holds freq and not other.
func checkTone(t testing.TB, name string, x []int16, freq, other float64) {
	t.Helper()
	p, q := goertzel(x, freq), goertzel(x, other)
	if p < 1e5 || p < 100*q {
		t.Errorf("%s: power at %.0f Hz %.3g, at %.0f Hz %.3g: want the first tone only", name, freq, p, other, q)
	}
}

func fileSHA256(t testing.TB, path string) (int64, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return int64(len(b)), hex.EncodeToString(sum[:])
}

// TestRecordingBothTones: the caller's 440 Hz on the left, the callee's
// 1000 Hz on the right, the file as long as the talk.
func TestRecordingBothTones(t *testing.T) {
	for _, tc := range []struct {
		name          string
		drop, reorder float64
	}{
		{"clean network", 0, 0},
		{"5% lost and 5% reordered", 0.05, 0.05},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := openSQLite(t)
			a, b := addUser(t, st, "10001"), addUser(t, st, "10002")
			setSetting(t, st, directory.SettingRecording, "all")
			dir := t.TempDir()
			cs, recs := startRecordingServer(t, st, dir)
			pa := newCallPhone(t, cs, "10001", answerOK)
			pb := newCallPhone(t, cs, "10002", answerOK)

			row, talk, heard := conversation(t, cs, pa, pb, 75, tc.drop, tc.reorder)
			if row.CallerID != a.ID || row.CalleeID != b.ID || row.Disposition != directory.Answered || row.ID == 0 {
				t.Errorf("cdr: %+v", row)
			}
			if heard[0] == 0 || heard[1] == 0 {
				t.Errorf("packets heard: caller %d, callee %d", heard[0], heard[1])
			}
			started := wait(t, recs, "recording row")
			if started.CallID != row.ID || started.State != directory.RecordingActive {
				t.Errorf("recording at answer: %+v, call %d", started, row.ID)
			}
			got := recordingsOf(t, st, row.ID)
			if len(got) != 1 {
				t.Fatalf("recordings of the call: %+v", got)
			}
			rec := got[0]
			if rec.State != directory.RecordingDone || rec.Error != "" || rec.CallerID != a.ID || rec.CalleeID != b.ID {
				t.Errorf("recording: %+v", rec)
			}
			if rel, err := filepath.Rel(dir, rec.Path); err != nil || filepath.Dir(rel) != time.Now().UTC().Format("2006/01/02") {
				t.Errorf("recording path %s: want a dated folder in %s", rec.Path, dir)
			}
			size, sum := fileSHA256(t, rec.Path)
			if rec.Size != size || rec.SHA256 != sum {
				t.Errorf("row size %d sha %s, file %d %s", rec.Size, rec.SHA256, size, sum)
			}
			left, right := wavChannels(t, rec.Path)
			dur := time.Duration(len(left)) * time.Second / 8000
			t.Logf("wav %v, talk %v, heard %v", dur, talk, heard)
			if d := dur - talk; d < -60*time.Millisecond || d > 60*time.Millisecond {
				t.Errorf("wav lasts %v, talk time %v", dur, talk)
			}
			if d := rec.Duration - dur; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("row duration %v, wav %v", rec.Duration, dur)
			}
			mid := func(x []int16) []int16 { return x[len(x)/10 : len(x)*9/10] }
			checkTone(t, "left (caller)", mid(left), 440, 1000)
			checkTone(t, "right (callee)", mid(right), 1000, 440)
			cs.noCallLeft(t)
		})
	}
}

// TestRecordingPolicy: who is recorded under each setting.
func TestRecordingPolicy(t *testing.T) {
	st, _ := openSQLite(t)
	u1, _, u3 := addUser(t, st, "10001"), addUser(t, st, "10002"), addUser(t, st, "10003")
	addUser(t, st, "10004")
	sales := &directory.Group{Name: "Sales"}
	if err := st.CreateGroup(t.Context(), sales); err != nil {
		t.Fatal(err)
	}
	north := &directory.Group{Name: "Sales North", ParentID: sales.ID}
	if err := st.CreateGroup(t.Context(), north); err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(t.Context(), north.ID, u3.ID); err != nil {
		t.Fatal(err)
	}
	cs, _ := startRecordingServer(t, st, t.TempDir())
	phones := map[string]*callPhone{}
	for _, ext := range []string{"10001", "10002", "10003", "10004"} {
		phones[ext] = newCallPhone(t, cs, ext, answerOK)
	}
	id := func(u *directory.User) string { return strconv.FormatInt(u.ID, 10) }
	for _, tc := range []struct {
		name           string
		policy         string
		users, groups  string
		from, to       string
		wantRecordings int
	}{
		{"off (the default) records nothing", "off", "", "", "10001", "10002", 0},
		{"all records every call", "all", "", "", "10001", "10002", 1},
		{"selected: the caller is a selected user", "selected", id(u1), "", "10001", "10002", 1},
		{"selected: the callee is a selected user", "selected", id(u1), "", "10002", "10001", 1},
		{"selected: a call of two others is not recorded", "selected", id(u1), "", "10002", "10004", 0},
		{"selected: a member of a subgroup of a selected group", "selected", "", strconv.FormatInt(sales.ID, 10),
			"10004", "10003", 1},
		{"selected: the subgroup's members only", "selected", "", strconv.FormatInt(north.ID, 10),
			"10001", "10002", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setSetting(t, st, directory.SettingRecording, tc.policy)
			setSetting(t, st, directory.SettingRecordingUsers, tc.users)
			setSetting(t, st, directory.SettingRecordingGroup, tc.groups)
			// The policy in force follows the change log.
			if err := cs.Sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			pa, pb := phones[tc.from], phones[tc.to]
			sess, err := pa.dial(t.Context(), tc.to)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			wait(t, pb.incoming, "answered call")
			if err := sess.Bye(t.Context()); err != nil {
				t.Fatalf("bye: %v", err)
			}
			wait(t, pb.ended, "bye at callee")
			row := cs.nextCDR(t)
			if row.Disposition != directory.Answered {
				t.Fatalf("cdr: %+v", row)
			}
			recs := recordingsOf(t, st, row.ID)
			if len(recs) != tc.wantRecordings {
				t.Fatalf("%d recordings, want %d: %+v", len(recs), tc.wantRecordings, recs)
			}
			for _, r := range recs {
				if r.State != directory.RecordingDone {
					t.Errorf("recording: %+v", r)
				}
			}
		})
	}
	cs.noCallLeft(t)
}

// TestRecordingUnwritableDir: the call goes on with audio both ways, and
// the recording row says why there is no file.
func TestRecordingUnwritableDir(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	setSetting(t, st, directory.SettingRecording, "all")
	// A file where the directory should be: unwritable even for root.
	dir := filepath.Join(t.TempDir(), "recordings")
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	cs, _ := startRecordingServer(t, st, dir)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	row, _, heard := conversation(t, cs, pa, pb, 25, 0, 0)
	if row.Disposition != directory.Answered || row.HangupBy != "caller" {
		t.Errorf("cdr: %+v", row)
	}
	if heard[0] < 10 || heard[1] < 10 {
		t.Errorf("packets heard: caller %d, callee %d of 25", heard[0], heard[1])
	}
	recs := recordingsOf(t, st, row.ID)
	if len(recs) != 1 || recs[0].State != directory.RecordingFailed || recs[0].Error == "" {
		t.Fatalf("recordings: %+v", recs)
	}
	t.Logf("failed recording: %s", recs[0].Error)
	cs.noCallLeft(t)
}

// TestRecordingRepairedAtStart: a recording cut by a crash is made
// playable when the server starts again, and its call gets an end.
func TestRecordingRepairedAtStart(t *testing.T) {
	st, _ := openSQLite(t)
	a, b := addUser(t, st, "10001"), addUser(t, st, "10002")
	dir := t.TempDir()
	answered := time.Now().Add(-time.Minute).UTC()
	crashed := func(node, name string, frames int) (*directory.Call, *directory.Recording) {
		c := &directory.Call{SIPCallID: name + "@test", CallerID: a.ID, CalleeID: b.ID, From: "10001", To: "10002",
			Dialed: "10002", Direction: directory.Internal, StartedAt: answered.Add(-time.Second), AnsweredAt: answered,
			Disposition: directory.Answered, Node: node}
		if err := st.CreateCall(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		r := &directory.Recording{CallID: c.ID, Path: filepath.Join(dir, name+".wav"), State: directory.RecordingActive}
		if frames >= 0 {
			// What the recorder leaves when killed before its first header
			// update: sizes of zero, then the samples.
			f, err := media.NewRecorder(r.Path, media.RecorderConfig{})
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			data := make([]byte, 4*frames)
			for i := range frames {
				binary.LittleEndian.PutUint16(data[4*i:], uint16(int16(8000*math.Sin(2*math.Pi*440*float64(i)/8000))))
			}
			fh, err := os.OpenFile(r.Path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			fh.Write(data)
			fh.Close()
		}
		if err := st.CreateRecording(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		return c, r
	}
	c1, r1 := crashed("node-a", "cut", 8000) // one second
	_, r2 := crashed("node-a", "lost", -1)   // the file is gone
	_, r3 := crashed("node-b", "other", 800) // another node's, maybe still recording

	cs, _ := startRecordingServer(t, st, dir)
	newCallPhone(t, cs, "10001", answerOK) // served only once start-up repairs are done

	got, err := st.Recording(t.Context(), r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	size, sum := fileSHA256(t, r1.Path)
	if got.State != directory.RecordingRepaired || got.Duration != time.Second || got.Size != size || got.SHA256 != sum {
		t.Errorf("repaired recording: %+v, file %d bytes %s", got, size, sum)
	}
	left, _ := wavChannels(t, r1.Path)
	if len(left) != 8000 {
		t.Errorf("repaired wav holds %d frames, want 8000", len(left))
	}
	checkTone(t, "repaired left", left, 440, 1000)
	call, err := st.Call(t.Context(), c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if call.EndedAt.IsZero() || call.Duration() != time.Second || call.HangupBy != "system" {
		t.Errorf("call cut by the crash: %+v", call)
	}
	if got, _ := st.Recording(t.Context(), r2.ID); got.State != directory.RecordingFailed || got.Error == "" {
		t.Errorf("recording without a file: %+v", got)
	}
	if got, _ := st.Recording(t.Context(), r3.ID); got.State != directory.RecordingActive {
		t.Errorf("another node's recording: %+v", got)
	}
}

// TestRecordingRetention: recordings older than recording.retention_days
// lose their file and are marked deleted; newer ones stay.
func TestRecordingRetention(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	setSetting(t, st, directory.SettingRecording, "all")
	cs, _ := startRecordingServer(t, st, t.TempDir())
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	row := cs.nextCDR(t)
	rec := recordingsOf(t, st, row.ID)[0]

	check := func(name string, now time.Time, want int) {
		t.Helper()
		n, err := cs.b.recordings.ExpireRecordings(t.Context(), now)
		if err != nil || n != want {
			t.Errorf("%s: %d deleted, %v; want %d", name, n, err, want)
		}
	}
	check("retention 0 keeps everything", time.Now().Add(1000*24*time.Hour), 0)
	setSetting(t, st, directory.SettingRetentionDays, "2")
	check("a day later", time.Now().Add(24*time.Hour), 0)
	if _, err := os.Stat(rec.Path); err != nil {
		t.Fatalf("recording gone too early: %v", err)
	}
	check("three days later", time.Now().Add(3*24*time.Hour), 1)
	if _, err := os.Stat(rec.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("expired file still there: %v", err)
	}
	if got := recordingsOf(t, st, row.ID); len(got) != 1 || got[0].State != directory.RecordingDeleted {
		t.Errorf("expired recording: %+v", got)
	}
	check("again", time.Now().Add(3*24*time.Hour), 0)
}

// TestRecordingHold: a hold in the middle of the talk is silence in the
// file, and the file still lasts as long as the call's audio.
func TestRecordingHold(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	setSetting(t, st, directory.SettingRecording, "all")
	cs, _ := startRecordingServer(t, st, t.TempDir())
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	first, _, _ := bothTalk(t, pa, pb, 0, 25, 0, 0)
	hold := time.NewTimer(400 * time.Millisecond) // how long the caller holds
	reinvite := func(dir string) {
		req := sip.NewRequest(sip.INVITE, sess.InviteResponse.Contact().Address)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(pa.offer(dir))
		res, err := sess.Do(t.Context(), req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s: %v %v", dir, res, err)
		}
		wait(t, pb.reinvite, "re-INVITE at callee")
		if err := sess.WriteRequest(sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)); err != nil {
			t.Fatal(err)
		}
		pa.setRemote(res.Body())
	}
	reinvite("sendonly")
	<-hold.C
	reinvite("sendrecv")
	// The phones' clocks ran on during the hold: their timestamps jump.
	resumed, last, _ := bothTalk(t, pa, pb, 25+int(time.Since(first)/(20*time.Millisecond)), 25, 0, 0)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	row := cs.nextCDR(t)
	recs := recordingsOf(t, st, row.ID)
	if len(recs) != 1 || recs[0].State != directory.RecordingDone {
		t.Fatalf("recordings: %+v", recs)
	}
	left, right := wavChannels(t, recs[0].Path)
	dur := time.Duration(len(left)) * time.Second / 8000
	talk := last.Sub(first) + 20*time.Millisecond
	t.Logf("wav %v, talk %v", dur, talk)
	if d := dur - talk; d < -60*time.Millisecond || d > 60*time.Millisecond {
		t.Errorf("wav lasts %v, talk time %v", dur, talk)
	}
	at := func(x []int16, from, to time.Duration) []int16 {
		return x[min(int(from*8000/time.Second), len(x)):min(int(to*8000/time.Second), len(x))]
	}
	ms := time.Millisecond
	checkTone(t, "left before hold", at(left, 100*ms, 400*ms), 440, 1000)
	checkTone(t, "right before hold", at(right, 100*ms, 400*ms), 1000, 440)
	gap := resumed.Sub(first)
	if p := goertzel(at(left, 600*ms, gap-100*ms), 440) + goertzel(at(right, 600*ms, gap-100*ms), 1000); p > 1e3 {
		t.Errorf("hold (0.6s to %v) is not silent: power %.3g", gap-100*ms, p)
	}
	checkTone(t, "left after hold", at(left, gap+100*ms, gap+400*ms), 440, 1000)
	checkTone(t, "right after hold", at(right, gap+100*ms, gap+400*ms), 1000, 440)
	cs.noCallLeft(t)
}
