package record

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
)

// Call recording: the policy, kept from the settings (loaded at start and
// again when the change log says they changed), is asked when a call is
// answered; a recorder on the relay writes the caller on the left channel
// and the callee on the right. The call row is stored at answer, so that
// the recording row can point at it while it is written, and updated when
// the call ends.

// retentionEvery is how often recordings past the retention are deleted.
const retentionEvery = time.Hour

// Recordings is the b2bua's recording service, a tap on the bridge of
// every answered call (bridgeTap): it decides at the answer whether the
// call is recorded and attaches a recorder to its relay. It also keeps
// the recordings directory: repairs after a crash, retention.
type Recordings struct {
	Core *call.Core
	// policy is the recording settings in force, loaded at start and
	// again when the change log says one changed (loadPolicy), so that an
	// answer asks the store nothing when the policy is off or all.
	policy atomic.Pointer[recordingPolicy]
	// madeDir is the day's directory made last, so that the answer of a
	// recorded call makes it (MkdirAll) once a day, not every time.
	madeDir atomic.Pointer[string]
}

// recordingPolicy is the recording settings: off, all or selected; the
// users and groups selected.
type recordingPolicy struct {
	mode   string
	users  []int64
	groups []int64
}

// RecordSettings are the settings keys recordPolicy is read from.
var RecordSettings = []string{directory.SettingRecording, directory.SettingRecordingUsers, directory.SettingRecordingGroup}

// LoadPolicy reads the recording settings into rs.policy.
func (rs *Recordings) LoadPolicy(ctx context.Context) error {
	st := rs.Core.Store
	var vals [3]string
	for i, key := range RecordSettings {
		v, err := st.Setting(ctx, key)
		if err != nil {
			return fmt.Errorf("setting %s: %w", key, err)
		}
		vals[i] = v
	}
	rs.policy.Store(&recordingPolicy{mode: vals[0], users: parseIDs(vals[1]), groups: parseIDs(vals[2])})
	return nil
}

// callRecording is the recording of one call in progress: a room on the
// call, open from the answer until teardown (or until it is dropped).
type callRecording struct {
	c       *call.Call
	row     directory.Recording
	rec     *media.Recorder // nil when the file could not be created
	callKey string          // the key of the call row it belongs to
	saved   bool            // its row is stored, or held by the spool
}

func (cr *callRecording) RoomName() string { return "recording" }

// TapJoined decides whether call c, just answered, is recorded and, if
// so, attaches a recorder to its relay. It runs before the 200 goes to the
// caller so that the first words are in the file; the file itself is
// created meanwhile by the recorder. A file that cannot be created does
// not stop the call: the row says why. A call recorded
// already goes on as it is.
func (rs *Recordings) TapJoined(c *call.Call) {
	dir := rs.Core.RecordingsDir
	if dir == "" || call.RoomOf[*callRecording](c.Rooms) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
	defer cancel()
	on, err := rs.recordPolicy(ctx, c.CDR.CallerID, c.CDR.CalleeID)
	if err != nil {
		c.Log.Warn("call not recorded: recording policy unknown", "err", err)
		return
	}
	if !on {
		return
	}
	now := time.Now().UTC()
	path := filepath.Join(dir, now.Format("2006"), now.Format("01"), now.Format("02"),
		now.Format("150405")+"-"+RandomHex(6)+".wav")
	cr := &callRecording{c: c, row: directory.Recording{Path: path, State: directory.RecordingActive}}
	c.Rooms.Open(cr)
	if err := rs.makeDir(filepath.Dir(path)); err != nil {
		cr.failed(fmt.Errorf("recordings directory: %w", err))
		return
	}
	// The file is created off the answer's path; one that cannot be
	// shows at tapClosed, as a write that failed.
	rec := media.NewRecorderLater(path, media.RecorderConfig{Logger: c.Log})
	cr.rec = rec
	c.Relay.SetTap(rec)
}

// makeDir makes the day's directory dir unless it was the last one made.
func (rs *Recordings) makeDir(dir string) error {
	if last := rs.madeDir.Load(); last != nil && *last == dir {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	rs.madeDir.Store(&dir)
	return nil
}

func (cr *callRecording) failed(err error) {
	cr.c.Log.Error("call not recorded", "err", err)
	cr.row.State, cr.row.Error = directory.RecordingFailed, err.Error()
}

// TapAnswered writes the call row and the recording row of call c, being
// recorded, once its answer went (or has the spool hold them while the
// store does not answer). Refused, the file would be nobody's, so it is
// dropped.
func (rs *Recordings) TapAnswered(c *call.Call) {
	cr := call.RoomOf[*callRecording](c.Rooms)
	if cr == nil || cr.saved {
		return
	}
	ctx := context.Background()
	row := c.CDRRow()
	cr.callKey = row.Key
	err := c.Core.History.SaveCall(ctx, &row)
	if err == nil {
		c.CDR.ID = row.ID
		cr.row.CallID = row.ID
		err = c.Core.History.SaveRecording(ctx, cr.callKey, &cr.row)
	}
	if err != nil {
		c.Log.Error("call not recorded: recording row not written", "err", err)
		cr.drop()
		return
	}
	cr.saved = true
	if h := c.Core.Hooks.Recording; h != nil {
		h(cr.row)
	}
}

// drop stops the recorder and removes its file.
func (cr *callRecording) drop() {
	c := cr.c
	c.Rooms.Close(cr)
	if cr.rec == nil {
		return
	}
	c.Relay.SetTap(nil)
	_ = cr.rec.Close()
	if err := os.Remove(cr.row.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.Log.Warn("recording without a row not removed", "path", cr.row.Path, "err", err)
	}
}

// TapClosed closes the recorder of call c once its relay has stopped and
// fills in the recording row: size, duration, SHA-256 and state.
func (rs *Recordings) TapClosed(c *call.Call) {
	cr := call.RoomOf[*callRecording](c.Rooms)
	if cr == nil {
		return
	}
	if !cr.saved {
		cr.drop() // no row: the 200 never went, or tapAnswered failed
		return
	}
	c.Rooms.Close(cr)
	row := &cr.row
	if cr.rec != nil {
		c.Relay.SetTap(nil)
		err := cr.rec.Close()
		row.Duration = cr.rec.Stats().Duration
		row.State = directory.RecordingDone
		if err != nil {
			// Disk full or the like: what was written before is kept.
			c.Log.Error("recording cut short", "path", row.Path, "err", err)
			row.State, row.Error = directory.RecordingFailed, err.Error()
		}
		if size, sum, err := HashFile(row.Path); err != nil {
			c.Log.Error("recording not readable", "path", row.Path, "err", err)
			row.State, row.Error = directory.RecordingFailed, err.Error()
		} else {
			row.Size, row.SHA256 = size, sum
		}
	}
	if err := c.Core.History.SaveRecording(context.Background(), cr.callKey, row); err != nil {
		c.Log.Error("recording row not updated", "recording_id", row.ID, "path", row.Path, "err", err)
		return
	}
	c.Log.Info("call recorded", "recording_id", row.ID, "state", row.State, "duration", row.Duration)
}

// recordPolicy reports whether a call between the users callerID and
// calleeID (0: external) is recorded under the settings in force.
func (rs *Recordings) recordPolicy(ctx context.Context, callerID, calleeID int64) (bool, error) {
	b := rs.Core
	pol := rs.policy.Load()
	if pol == nil {
		// Not loaded yet (the store was down at start): ask it now.
		if err := rs.LoadPolicy(ctx); err != nil {
			return false, err
		}
		pol = rs.policy.Load()
	}
	switch pol.mode {
	case "all":
		return true, nil
	case "selected":
	default:
		return false, nil
	}
	ids := []int64{callerID, calleeID}
	for _, id := range ids {
		if id != 0 && slices.Contains(pol.users, id) {
			return true, nil
		}
	}
	groups := pol.groups
	if len(groups) == 0 {
		return false, nil
	}
	all, err := b.Store.Groups(ctx)
	if err != nil {
		return false, fmt.Errorf("groups: %w", err)
	}
	// A member of a subgroup is a member of every group above it.
	groups = directory.DescendantIDs(all, groups)
	for _, id := range ids {
		if id == 0 {
			continue
		}
		u, err := b.Store.User(ctx, id)
		if errors.Is(err, directory.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("user %d: %w", id, err)
		}
		for _, g := range u.GroupIDs {
			if slices.Contains(groups, g) {
				return true, nil
			}
		}
	}
	return false, nil
}

// parseIDs reads a comma-separated list of IDs, skipping what is not one.
func parseIDs(s string) []int64 {
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64); err == nil && n > 0 {
			ids = append(ids, n)
		}
	}
	return ids
}

// RecoverRecordings finishes the recordings of this node left in state
// "recording" by a crash: each file's header is repaired so that the audio
// written before the crash plays, and its row says "repaired" (or "failed"
// when the file is gone or unreadable). The call row, never ended, gets an
// end. Only rows created before start are looked at, so a call recorded
// meanwhile is left alone.
func (rs *Recordings) RecoverRecordings(ctx context.Context, start time.Time) {
	b := rs.Core
	if b.RecordingsDir == "" {
		return
	}
	for page := 1; ; page++ {
		recs, err := b.Store.Recordings(ctx, directory.RecordingFilter{
			States: []directory.RecordingState{directory.RecordingActive}, Before: start,
			Vis: directory.Visibility{All: true}, Page: directory.Page{Number: page, Size: 100}})
		if err != nil {
			b.Log.Warn("unfinished recordings not repaired", "err", err)
			return
		}
		for i := range recs {
			rs.recoverRecording(ctx, &recs[i])
		}
		if len(recs) < 100 {
			return
		}
	}
}

func (rs *Recordings) recoverRecording(ctx context.Context, r *directory.Recording) {
	b := rs.Core
	call, err := b.Store.Call(ctx, r.CallID)
	if err != nil {
		b.Log.Warn("unfinished recording not repaired", "recording_id", r.ID, "err", err)
		return
	}
	if call.Node != b.Node {
		return // another node's: it repairs its own files
	}
	r.State, r.Error = directory.RecordingRepaired, ""
	if err := media.RepairWAV(r.Path); err != nil {
		r.State, r.Error = directory.RecordingFailed, "repair after restart: "+err.Error()
	}
	if r.State == directory.RecordingRepaired {
		r.Duration, err = WavDuration(r.Path)
		if err == nil {
			r.Size, r.SHA256, err = HashFile(r.Path)
		}
		if err != nil {
			r.State, r.Error = directory.RecordingFailed, "repair after restart: "+err.Error()
		}
	}
	if err := b.Store.UpdateRecording(ctx, r); err != nil {
		b.Log.Warn("unfinished recording not repaired", "recording_id", r.ID, "err", err)
		return
	}
	b.Log.Warn("recording left unfinished by a restart", "recording_id", r.ID, "path", r.Path,
		"state", r.State, "duration", r.Duration)
	if call.EndedAt.IsZero() {
		call.EndedAt = call.StartedAt
		if !call.AnsweredAt.IsZero() {
			call.EndedAt = call.AnsweredAt.Add(r.Duration)
		}
		call.HangupBy, call.Reason = "system", "node restarted"
		if err := b.Store.UpdateCall(ctx, call); err != nil {
			b.Log.Warn("call cut by a restart not ended", "call_id", call.SIPCallID, "err", err)
		}
	}
}

// RunRetention deletes recordings older than recording.retention_days at
// start and then hourly, until ctx ends.
func (rs *Recordings) RunRetention(ctx context.Context) {
	b := rs.Core
	if b.RecordingsDir == "" {
		return
	}
	t := time.NewTicker(retentionEvery)
	defer t.Stop()
	for {
		if _, err := rs.ExpireRecordings(ctx, time.Now()); err != nil && ctx.Err() == nil {
			b.Log.Warn("old recordings not deleted", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ExpireRecordings deletes the files of finished recordings created more
// than recording.retention_days before now and marks their rows deleted.
// It returns how many it deleted; with no retention set it does nothing.
func (rs *Recordings) ExpireRecordings(ctx context.Context, now time.Time) (int, error) {
	b := rs.Core
	v, err := b.Store.Setting(ctx, directory.SettingRetentionDays)
	if err != nil {
		return 0, err
	}
	days, err := strconv.Atoi(v)
	if err != nil || days <= 0 {
		return 0, nil
	}
	f := directory.RecordingFilter{Before: now.Add(-time.Duration(days) * 24 * time.Hour),
		States: []directory.RecordingState{directory.RecordingDone, directory.RecordingRepaired, directory.RecordingFailed},
		Vis:    directory.Visibility{All: true}, Page: directory.Page{Size: 100}}
	n := 0
	for {
		recs, err := b.Store.Recordings(ctx, f)
		if err != nil {
			return n, err
		}
		for i := range recs {
			r := &recs[i]
			if err := os.Remove(r.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return n, fmt.Errorf("delete recording %d: %w", r.ID, err)
			}
			r.State = directory.RecordingDeleted
			if err := b.Store.UpdateRecording(ctx, r); err != nil {
				return n, err
			}
			n++
		}
		// Deleted rows leave the filter: the first page is always the next.
		if len(recs) < 100 {
			break
		}
	}
	if n > 0 {
		b.Log.Info("old recordings deleted", "count", n, "retention_days", days)
	}
	return n, nil
}

// HashFile returns the size and hex SHA-256 of the file at path.
func HashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("hash %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// WavDuration reads the audio length of a WAV file written by the
// recorder: a 44-byte header, PCM data to the end.
func WavDuration(path string) (time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h [44]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0, fmt.Errorf("wav header %s: %w", path, err)
	}
	le := binary.LittleEndian
	rate := le.Uint32(h[28:]) // bytes per second
	if string(h[0:4]) != "RIFF" || string(h[8:12]) != "WAVE" || string(h[36:40]) != "data" || rate == 0 {
		return 0, fmt.Errorf("wav header %s: %w", path, media.ErrNotWAV)
	}
	return time.Duration(int64(le.Uint32(h[40:])) * int64(time.Second) / int64(rate)), nil
}

// RandomHex returns n random bytes in hex, for file names.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
