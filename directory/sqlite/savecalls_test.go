package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestSaveCallsRowAtFault: a row the database refuses (here by a trigger:
// the schema refuses nothing ValidateSave passes) fails the multi-row
// statement it is in; the batch is refused naming that row, and none of
// it is written.
func TestSaveCallsRowAtFault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s := openAt(t, path)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse_bad BEFORE INSERT ON calls WHEN NEW.from_number = 'bad'
		BEGIN SELECT RAISE(ABORT, 'bad row'); END`); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, n := range []int{2, 5, 11, 40} {
		bad := n / 2
		cs := make([]*directory.Call, n)
		for i := range cs {
			key := fmt.Sprintf("n%d-%d", n, i)
			cs[i] = &directory.Call{Key: key, SIPCallID: key + "@pc33.example", From: "10001", To: "10002",
				Direction: directory.Internal, StartedAt: t0, Disposition: directory.Busy}
		}
		cs[bad].From = "bad"
		err := s.SaveCalls(t.Context(), cs)
		var re *directory.RowError
		if !errors.As(err, &re) || re.Index != bad {
			t.Errorf("batch of %d: error %v, want a *RowError at index %d", n, err, bad)
		}
		for _, c := range cs {
			if c.ID != 0 {
				t.Errorf("batch of %d: call %q of a refused batch was given ID %d", n, c.Key, c.ID)
			}
		}
		cs[bad].From = "10001"
		if err := s.SaveCalls(t.Context(), cs); err != nil {
			t.Fatalf("batch of %d again: %v", n, err)
		}
		for i, c := range cs {
			got, err := s.Call(t.Context(), c.ID)
			if err != nil || got.SIPCallID != c.SIPCallID {
				t.Errorf("batch of %d, row %d: ID %d is %+v, %v; want call %q", n, i, c.ID, got, err, c.Key)
			}
		}
	}
	if n, err := s.CountCalls(t.Context(), directory.CallFilter{Vis: directory.Visibility{All: true}}); err != nil || n != 2+5+11+40 {
		t.Errorf("%d calls stored (%v), want %d", n, err, 2+5+11+40)
	}
}
