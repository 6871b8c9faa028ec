package sip

import (
	"context"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// strangerSSRC marks what the attacker sends.
const strangerSSRC = 0xBAD

// rtpSprayer sprays RTP (a 2000 Hz tone, in sequence per port, as a phone
// would send it) and RTCP at every port of lo..hi from 127.0.0.66 until
// ctx ends, and counts what comes back to it.
type rtpSprayer struct {
	conn   *net.UDPConn
	heard  atomic.Int64
	sent   atomic.Int64
	rounds chan struct{} // a round over every port went out
	wg     sync.WaitGroup
}

func startStranger(ctx context.Context, t *testing.T, lo, hi int) *rtpSprayer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 66)})
	if err != nil {
		t.Fatalf("listen on 127.0.0.66 (all of 127.0.0.0/8 is loopback): %v", err)
	}
	s := &rtpSprayer{conn: conn, rounds: make(chan struct{}, 1)}
	s.wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := conn.ReadFromUDPAddrPort(buf); err != nil {
				return // closed
			}
			s.heard.Add(1)
		}
	})
	s.wg.Go(func() {
		pcm := make([]int16, 160)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: strangerSSRC}, Payload: make([]byte, 160)}
		rr := []byte{0x80, 201, 0, 1, 0, 0, 0x0B, 0xAD}
		// Paced like a phone, 20 ms a round, so that the test machine
		// keeps time for the phones.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			for j := range pcm {
				pcm[j] = int16(8000 * math.Sin(2*math.Pi*2000*float64(i*160+j)/8000))
			}
			media.PCMU.Encode(pkt.Payload, pcm)
			pkt.SequenceNumber, pkt.Timestamp = uint16(i), uint32(160*i)
			raw, _ := pkt.Marshal()
			for port := lo; port+1 <= hi; port += 2 {
				to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
				conn.WriteToUDPAddrPort(raw, to)
				conn.WriteToUDPAddrPort(rr, netip.AddrPortFrom(to.Addr(), to.Port()+1))
				s.sent.Add(2)
			}
			select {
			case s.rounds <- struct{}{}:
			default:
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return s
}

// sprayedAll returns once a whole round went out after it was called.
func (s *rtpSprayer) sprayedAll(t *testing.T) {
	t.Helper()
	select {
	case <-s.rounds: // one that may have started before
	default:
	}
	wait(t, s.rounds, "a round of the stranger")
	wait(t, s.rounds, "a round of the stranger")
}

// stop ends the spraying and returns how many datagrams reached the stranger.
func (s *rtpSprayer) stop(cancel context.CancelFunc) int64 {
	cancel()
	s.conn.Close()
	s.wg.Wait()
	return s.heard.Load()
}

// TestCallStrangerSprayingRTP: a stranger sprays the whole RTP range from
// another address, before the call and all through it. The parties still
// hear each other, the stranger hears nothing, the recording holds the
// parties' tones and not the stranger's, and the dropped packets are
// counted.
func TestCallStrangerSprayingRTP(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	setSetting(t, st, directory.SettingRecording, "all")
	dir := t.TempDir()
	const lo, hi = 46000, 46039
	cs := &callServer{cdr: make(chan directory.Call, 100), st: st}
	cs.testServer = startServerHooked(t, st, nil, func(s *Server) {
		cs.b = s.calls
		cs.b.Hooks.Ended = func(c directory.Call) { cs.cdr <- c }
	}, func(c *Config) {
		c.Calls = CallConfig{RTPLow: lo, RTPHigh: hi, MediaIP: netip.MustParseAddr("127.0.0.1"), MediaTimeout: time.Minute}
		c.RecordingsDir = dir
	})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerWhenTold)

	ctx, cancel := context.WithCancel(t.Context())
	s := startStranger(ctx, t, lo, hi)
	defer s.stop(cancel)

	type dialed struct {
		sess *sipgo.DialogClientSession
		err  error
	}
	answered := make(chan dialed, 1)
	go func() {
		sess, err := pa.dial(t.Context(), pb.ext)
		answered <- dialed{sess, err}
	}()
	wait(t, pb.invites, "INVITE at the callee") // the relay's ports are open
	s.sprayedAll(t)                             // and sprayed while the callee rings
	pb.answerNow <- struct{}{}
	d := wait(t, answered, "answer at the caller")
	if d.err != nil {
		t.Fatalf("dial: %v", d.err)
	}
	wait(t, pb.incoming, "answered call")
	stopA, stopB := pa.hear(calleeSSRC), pb.hear(callerSSRC)
	bothTalk(t, pa, pb, 0, 75, 0, 0)
	heard := [2]int{stopA(), stopB()}
	if err := d.sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pb.ended, "bye at callee")
	row := cs.nextCDR(t)
	if got := s.stop(cancel); got != 0 {
		t.Errorf("the stranger heard %d datagrams of the call", got)
	}
	// Each side heard nearly all of the other's 75 packets: the first
	// ones may go before the other's answer reached it.
	if heard[0] < 60 || heard[1] < 60 {
		t.Errorf("packets heard: caller %d, callee %d of 75", heard[0], heard[1])
	}
	if m := cs.Metrics(); m.RTPRejected == 0 {
		t.Errorf("no rejected packets counted; the stranger sent %d", s.sent.Load())
	}
	recs := recordingsOf(t, st, row.ID)
	if len(recs) != 1 {
		t.Fatalf("recordings of the call: %+v", recs)
	}
	left, right := wavChannels(t, recs[0].Path)
	mid := func(x []int16) []int16 { return x[len(x)/10 : len(x)*9/10] }
	checkTone(t, "left (caller)", mid(left), 440, 2000)
	checkTone(t, "right (callee)", mid(right), 1000, 2000)
	cs.noCallLeft(t)
}

// talkUntil has p say its tone in 200 ms pieces until stop is closed.
func (p *callPhone) talkUntil(t *testing.T, ssrc uint32, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i += 10 {
			select {
			case <-stop:
				return
			default:
			}
			p.talk(t, tone{freq: 440, ssrc: ssrc, start: i, n: 10})
		}
	})
	return &wg
}

// TestCallOneSidedSilenceEnds: the caller talks all along, the callee
// sends nothing: the call ends with both legs sent BYE, as a media timeout.
func TestCallOneSidedSilenceEnds(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{MediaTimeout: time.Second})
	if _, err := pa.dial(t.Context(), "10002"); err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	stop := make(chan struct{})
	talking := pa.talkUntil(t, callerSSRC, stop)
	wait(t, pb.ended, "bye at callee")
	wait(t, pa.ended, "bye at caller")
	close(stop)
	talking.Wait()
	if row := cs.nextCDR(t); row.HangupBy != "system" || row.Reason != "media timeout" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestCallHeldLegGetsHoldTimeout: once the caller puts the call on hold,
// neither side sends; the call lasts the longer hold timeout, not the
// media timeout, and then ends as a media timeout.
func TestCallHeldLegGetsHoldTimeout(t *testing.T) {
	const hold = 4 * time.Second
	_, cs, pa, pb := twoPhones(t, CallConfig{MediaTimeout: 2 * time.Second, MediaHoldTimeout: hold})
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	req := sip.NewRequest(sip.INVITE, sess.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(pa.offer("sendonly"))
	held := time.Now()
	res, err := sess.Do(t.Context(), req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE sendonly: %v %v", res, err)
	}
	wait(t, pb.reinvite, "re-INVITE at callee")
	if err := sess.WriteRequest(sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)); err != nil {
		t.Fatal(err)
	}
	wait(t, pb.ended, "bye at callee")
	wait(t, pa.ended, "bye at caller")
	// A lower bound only: the call must have outlived the media timeout.
	if d := time.Since(held); d < hold {
		t.Errorf("the held call ended after %v, before the %v hold timeout", d, hold)
	}
	if row := cs.nextCDR(t); row.HangupBy != "system" || row.Reason != "media timeout" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestCallNATedPhoneLatchesAndRebinds: the caller's SDP names a private
// address; its RTP comes from the IP its SIP comes from, first from one
// port, then (a NAT rebinding) from another. Both are heard after
// probation, and the callee's audio follows the phone to its new port.
func TestCallNATedPhoneLatchesAndRebinds(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	host, port, _ := net.SplitHostPort(pa.srv.udp)
	uri := sip.Uri{Scheme: "sip", User: "10002", Host: host, Port: atoiPort(port)}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: pa.ext, Host: pa.srv.realm()},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}}
	private := []byte("v=0\r\no=- 1 1 IN IP4 192.168.1.50\r\ns=-\r\nc=IN IP4 192.168.1.50\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")
	sess, err := pa.dcc.Invite(t.Context(), uri, private, from, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(t.Context(), sipgo.AnswerOptions{Username: pa.ext, Password: pa.pw}); err != nil {
		t.Fatalf("dial: %v", err)
	}
	pa.setRemote(sess.InviteResponse.Body())
	if err := sess.Ack(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pb.incoming, "answered call")

	pa.sendRTP(t, pb, 3) // the first few packets are probation, then heard
	pb.sendRTP(t, pa, 3) // back to where the phone's RTP comes from
	rebound, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	old := pa.rtp
	pa.rtp = rebound
	pa.sendRTP(t, pb, 3) // same stream, new port
	pb.sendRTP(t, pa, 3)
	pa.rtp = old
	rebound.Close()
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.Disposition != directory.Answered {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}
