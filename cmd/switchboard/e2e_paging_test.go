package main

import (
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/baresip"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// TestBaresipPaging: an admin pages group 20000 (*9120000) from a real
// softphone through `switchboard serve`; both members' softphones answer
// (baresip 1.0 answers by its account's answermode, not by our
// auto-answer headers) and receive the talker's audio, the talker
// receives none, and the talker's hangup closes both members'
// calls.
func TestBaresipPaging(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	users := []e2eUser{
		{"Anna Nowak", "anna@example.com", "10001", "k7#Qm2vLx9", "admin"},
		{"Piotr Wisniewski", "piotr@example.com", "10002", "Zr4!pW8qTe", "agent"},
		{"Hoa Tran", "hoa@example.com", "10003", "Mq9$eV3nLp", "agent"},
	}
	addUsers(t, bin, data, users)
	hallGroup(t, data, "10002", "10003")
	sipAddr := serveProcess(t, bin, data)
	phones := []*baresip.Phone{
		baresip.Start(t, baresip.Options{Name: "anna", Tone: 440}),
		baresip.Start(t, baresip.Options{Name: "piotr", Tone: 880}),
		baresip.Start(t, baresip.Options{Name: "hoa", Tone: 1500}),
	}
	registerAs(t, sipAddr, phones, users)
	anna, piotr, hoa := phones[0], phones[1], phones[2]
	ctx := t.Context()
	markA, markP, markH := anna.Mark(), piotr.Mark(), hoa.Mark()
	if err := anna.Dial("sip:*9120000@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, anna, markA)
	established(t, piotr, markP)
	established(t, hoa, markH)

	// The page lasts this long: talk time, not a wait.
	talk := time.NewTimer(talkTime)
	select {
	case <-talk.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	if err := anna.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, anna, markA)
	closed(t, piotr, markP)
	closed(t, hoa, markH)

	// baresip plays nothing while it only receives (its aubridge player
	// is driven by its source, which a recvonly stream does not start),
	// so its recording of what it received stays empty: the packet counts
	// of its rtp_stats table say what it sent and received. That the
	// payload is the talker's is proven by the sip package's TestPaging.
	for _, c := range []struct {
		who     string
		p       *baresip.Phone
		sending bool
	}{{"anna", anna, true}, {"piotr", piotr, false}, {"hoa", hoa, false}} {
		// baresip writes the table as the call closes, around the
		// CALL_CLOSED event: the log is read again until it is there.
		tx, rx, ok := rtpCounts(c.p.Log())
		for i := 0; !ok && i < 200; i++ {
			time.Sleep(25 * time.Millisecond)
			tx, rx, ok = rtpCounts(c.p.Log())
		}
		t.Logf("%s: sent %d, received %d rtp packets", c.who, tx, rx)
		switch {
		case !ok:
			t.Errorf("%s: no rtp_stats table in its log", c.who)
		case c.sending && (tx < 50 || rx != 0):
			t.Errorf("the talker sent %d and received %d packets: want a page one-way from it", tx, rx)
		case !c.sending && rx < 50:
			t.Errorf("%s received %d packets of the page", c.who, rx)
		}
	}
}

// rtpCounts reads the last audio packet counts of baresip's rtp_stats
// table ("packets:  127  0": transmitted, received) from its log.
func rtpCounts(log string) (tx, rx int, ok bool) {
	m := regexp.MustCompile(`packets:\s+(\d+)\s+(\d+)`).FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		return 0, 0, false
	}
	last := m[len(m)-1]
	tx, _ = strconv.Atoi(last[1])
	rx, _ = strconv.Atoi(last[2])
	return tx, rx, true
}

// hallGroup makes group "Hall", number 20000, of the users with exts, in
// the store of data (before serve opens it).
func hallGroup(t *testing.T, data string, exts ...string) {
	t.Helper()
	st, err := dirstore.Open(t.Context(), "", data, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := &directory.Group{Name: "Hall", Extension: "20000"}
	if err := st.CreateGroup(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	for _, ext := range exts {
		u, err := st.UserByExtension(t.Context(), ext)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddMember(t.Context(), g.ID, u.ID); err != nil {
			t.Fatal(err)
		}
	}
}
