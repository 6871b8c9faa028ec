package web

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestCallsCSVNeutralizesFormulas plants numbers a caller controls (the
// From of an inbound call) that a spreadsheet would run, and reads them back
// from calls.csv: every cell starting with =, +, -, @, tab or carriage
// return is neutralized (OWASP CSV injection), E.164 numbers stay numbers.
func TestCallsCSVNeutralizesFormulas(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	t0 := time.Date(2025, 3, 20, 9, 0, 0, 0, time.UTC)
	planted := []struct{ in, want string }{
		{"-3+4", "'-3+4"},
		{"=1+2", "'=1+2"},
		{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1+2", "'\t=1+2"},
		{"\r=1+2", "'\r=1+2"},
		{"+", "'+"},
		{"+48221234567", "+48221234567"},
		{"10001", "10001"},
	}
	for i, p := range planted {
		c := &directory.Call{SIPCallID: "csv-" + itoa(int64(i)), From: p.in, To: "20004", Dialed: p.in,
			CalleeID: f.users[pAgent].ID, Direction: directory.Inbound, StartedAt: t0.Add(time.Duration(i) * time.Minute),
			EndedAt: t0.Add(time.Duration(i)*time.Minute + time.Second), Disposition: directory.NoAnswer, Reason: p.in, Node: "n"}
		if err := st.CreateCall(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := f.as(t, ts.URL, pOwner).get("/calls.csv?from=2025-03-20&to=2025-03-20")
	if resp.StatusCode != 200 {
		t.Fatalf("calls.csv: %d", resp.StatusCode)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][3]string{} // node-less key: the id column
	for _, r := range rows[1:] {
		got[r[5]] = [3]string{r[5], r[7], r[10]} // from, dialed, reason
	}
	for _, p := range planted {
		g, ok := got[p.want]
		if !ok || g[1] != p.want || g[2] != p.want {
			t.Errorf("%q exported as %q (all rows: %q)", p.in, g, rows[1:])
		}
	}
	for _, r := range rows {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !strings.HasPrefix(cell, "+48") {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	}
}
