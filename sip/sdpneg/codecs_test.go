package sdpneg

import (
	"fmt"
	"strings"
	"testing"
)

func audioSDP(formats string, maps ...string) string {
	s := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP " + formats + "\r\n"
	for _, m := range maps {
		s += "a=rtpmap:" + m + "\r\n"
	}
	return s
}

// TestPlanCodecs: which answers turn transcoding on, and what the
// offerer's answer then names.
func TestPlanCodecs(t *testing.T) {
	for _, tc := range []struct {
		name, offer, answer string
		plan                string // "" none, else "offerer>answerer"
		formats             string // the answer's formats afterwards
		fail                bool
	}{
		{"common codec", audioSDP("0 8 101", "101 telephone-event/8000"), audioSDP("0 101", "101 telephone-event/8000"),
			"", "0 101", false},
		{"G.722 caller, PCMU callee", audioSDP("9 101", "9 G722/8000", "101 telephone-event/8000"),
			audioSDP("0 101", "0 PCMU/8000", "101 telephone-event/8000"), "G722/9>PCMU/0", "9 101", false},
		{"callee prefers an added codec but lists the common one", audioSDP("0 101", "101 telephone-event/8000"),
			audioSDP("9 0 101", "101 telephone-event/8000"), "PCMU/0>G722/9", "0 101", false},
		{"A-law caller, u-law callee", audioSDP("8"), audioSDP("0"), "PCMA/8>PCMU/0", "8", false},
		{"Opus and PCMU caller, PCMU callee", audioSDP("96 0", "96 opus/48000/2"), audioSDP("0"), "", "0", false},
		{"G.729 caller, PCMU callee", audioSDP("18"), audioSDP("0"), "", "0", true},
		{"callee answers a dynamic type it was not offered", audioSDP("0"), audioSDP("97", "97 iLBC/8000"), "", "97", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offer, _, err := Parse([]byte(tc.offer))
			if err != nil {
				t.Fatal(err)
			}
			answer, _, err := Parse([]byte(tc.answer))
			if err != nil {
				t.Fatal(err)
			}
			oc, ac, err := PlanCodecs(offer, answer)
			if (err != nil) != tc.fail {
				t.Fatalf("err %v, want failure %v", err, tc.fail)
			}
			got := ""
			if !oc.Same(ac) {
				f := func(x Codec) string { return fmt.Sprintf("%s/%d", x.Name, x.PT) }
				got = f(oc) + ">" + f(ac)
			}
			if got != tc.plan {
				t.Errorf("plan %q, want %q", got, tc.plan)
			}
			if tc.fail {
				return
			}
			if f := strings.Join(Audio(answer).MediaName.Formats, " "); f != tc.formats {
				t.Errorf("answer formats %q, want %q", f, tc.formats)
			}
			if _, err := answer.Marshal(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestWidenOffer: an offer with a codec the relay transcodes also offers
// the others, after the offerer's own; one without is left alone.
func TestWidenOffer(t *testing.T) {
	for _, tc := range []struct{ offer, want string }{
		{audioSDP("96 0 101", "96 opus/48000/2", "101 telephone-event/8000"), "96 0 101 8 9"},
		{audioSDP("9"), "9 0 8"},
		{audioSDP("0 8 9"), "0 8 9"},
		{audioSDP("18"), "18"},
		{audioSDP("8 0", "0 telephone-event/8000"), "8 0 9"}, // type 0 is taken: no PCMU under it
	} {
		sd, _, err := Parse([]byte(tc.offer))
		if err != nil {
			t.Fatal(err)
		}
		WidenOffer(sd)
		if got := strings.Join(Audio(sd).MediaName.Formats, " "); got != tc.want {
			t.Errorf("%q widened to %q, want %q", tc.offer, got, tc.want)
		}
	}
}

// FuzzPlanCodecs: whatever an offer and an answer say, widening the offer,
// aligning the answer and planning the codecs never panic, and the answer
// still marshals.
func FuzzPlanCodecs(f *testing.F) {
	f.Add(audioSDP("9 101", "9 G722/8000", "101 telephone-event/8000"), audioSDP("0 101", "0 PCMU/8000"))
	f.Add(audioSDP("18"), audioSDP("0"))
	f.Add(audioSDP("96 0", "96 opus/48000/2", "96 x", "0 PCMU"), audioSDP("9 0 96", "9 /", "0 PCMU/abc"))
	f.Add(phoneOffer, audioSDP("0"))
	f.Fuzz(func(t *testing.T, offer, answer string) {
		o, _, err := Parse([]byte(offer))
		if err != nil {
			return
		}
		a, _, err := Parse([]byte(answer))
		if err != nil {
			return
		}
		WidenOffer(o)
		o2, _, _ := Parse([]byte(offer))
		AlignAnswer(o2, a)
		oc, ac, err := PlanCodecs(o2, a)
		if err == nil && (oc.Name == "") != (ac.Name == "") {
			t.Errorf("one side's codec known, not the other's: %v %v", oc, ac)
		}
		if _, err := a.Marshal(); err != nil {
			t.Errorf("answer no longer marshals: %v", err)
		}
		FirstVoiceSD(a)
	})
}
