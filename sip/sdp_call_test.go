package sip

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pion/sdp/v3"
)

// mLines returns "media port" for each m= line of body, in order, with
// the port given as "0" or "live".
func mLines(t testing.TB, body []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\n")) {
		body = append(body, '\r', '\n')
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		t.Fatalf("sdp: %v\n%s", err, body)
	}
	var out []string
	for _, md := range sd.MediaDescriptions {
		port := "live"
		if md.MediaName.Port.Value == 0 {
			port = "0"
		}
		out = append(out, md.MediaName.Media+" "+port)
	}
	return out
}

func sameLines(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestCallRejectedStreamPortZero: a stream rejected with port 0, by the
// callee's answer or in the caller's offer, is passed on with port 0, not
// given a live relay port, and the live audio line next to it is relayed.
func TestCallRejectedStreamPortZero(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})

	t.Run("callee rejects the audio", func(t *testing.T) {
		pb.setMedia("m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
		defer pb.setMedia("")
		sess, err := pa.dial(t.Context(), "10002")
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		<-pb.invites
		wait(t, pb.incoming, "answered call")
		if got := mLines(t, sess.InviteResponse.Body()); !sameLines(got, []string{"audio 0"}) {
			t.Errorf("answer to the caller: %v, want [audio 0]\n%s", got, sess.InviteResponse.Body())
		}
		if err := sess.Bye(t.Context()); err != nil {
			t.Fatal(err)
		}
		wait(t, pb.ended, "bye at callee")
		cs.nextCDR(t)
	})

	t.Run("caller offers a rejected audio line before the live one", func(t *testing.T) {
		pa.setMedia("m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n" +
			"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")
		defer pa.setMedia("")
		sess, err := pa.dial(t.Context(), "10002")
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		inv := <-pb.invites
		wait(t, pb.incoming, "answered call")
		want := []string{"audio 0", "audio live"}
		if got := mLines(t, inv.Body()); !sameLines(got, want) {
			t.Errorf("offer to the callee: %v, want %v\n%s", got, want, inv.Body())
		}
		if got := mLines(t, sess.InviteResponse.Body()); !sameLines(got, want) {
			t.Errorf("answer to the caller: %v, want %v\n%s", got, want, sess.InviteResponse.Body())
		}
		pa.sendRTP(t, pb, 3)
		pb.sendRTP(t, pa, 3)
		if err := sess.Bye(t.Context()); err != nil {
			t.Fatal(err)
		}
		wait(t, pb.ended, "bye at callee")
		cs.nextCDR(t)
	})
	cs.noCallLeft(t)
}

// TestCallMediaLinesInOrder: an offer with audio and video is answered
// line by line in the offer's order (RFC 3264 §6), even when the callee
// answers the audio alone: the audio is relayed, the video rejected with
// port 0, never dropped.
func TestCallMediaLinesInOrder(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	const audio = "m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
	const video = "m=video 5004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
	for _, tc := range []struct {
		name, lines string
		want        []string
	}{
		{"audio then video", audio + video, []string{"audio live", "video 0"}},
		{"video then audio", video + audio, []string{"video 0", "audio live"}},
		{"audio, video, second audio", audio + video + "m=audio 5006 RTP/AVP 8\r\n",
			[]string{"audio live", "video 0", "audio 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pa.setMedia(tc.lines)
			defer pa.setMedia("")
			sess, err := pa.dial(t.Context(), "10002")
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			inv := <-pb.invites
			wait(t, pb.incoming, "answered call")
			if got := mLines(t, inv.Body()); !sameLines(got, tc.want) {
				t.Errorf("offer to the callee: %v, want %v\n%s", got, tc.want, inv.Body())
			}
			if got := mLines(t, sess.InviteResponse.Body()); !sameLines(got, tc.want) {
				t.Errorf("answer to the caller: %v, want %v\n%s", got, tc.want, sess.InviteResponse.Body())
			}
			pa.sendRTP(t, pb, 3)
			pb.sendRTP(t, pa, 3)
			if err := sess.Bye(t.Context()); err != nil {
				t.Fatal(err)
			}
			wait(t, pb.ended, "bye at callee")
			cs.nextCDR(t)
		})
	}
	cs.noCallLeft(t)
}
