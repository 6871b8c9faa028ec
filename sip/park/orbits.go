package park

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
)

// The park orbits of a node (park.go parks calls on them): the numbers
// the park.orbits setting names, and which of them hold a call. Other
// goroutines read the table (a retrieving INVITE's handler, a SUBSCRIBE
// to an orbit); the call that parked a slot is the only one to free it.

// orbitTable is the orbits and the calls parked on them.
type orbitTable struct {
	mu      sync.Mutex
	orbits  []string // in order: *70 takes the first free one
	timeout time.Duration
	moh     string      // the park.moh setting: a WAV file
	music   *media.Clip // moh as loaded; nil: parked callers hear silence
	held    map[string]*orbitSlot
}

// orbitSlot is one parked call, as other goroutines may see it.
type orbitSlot struct {
	c         *call.Call
	orbit     string
	Parker    int64  // user ID of whoever parked it
	parkerExt string // and their extension
	Caller    string // the number of the party parked
	since     time.Time
}

// Errors of claim.
var (
	errOrbitBusy    = errors.New("orbit in use")
	errNoFreeOrbit  = errors.New("no free orbit")
	errNotAnOrbit   = errors.New("not an orbit")
	errParkDisabled = errors.New("no orbits configured")
)

func NewOrbitTable() *orbitTable {
	orbits, _ := directory.ParseParkOrbits("")
	return &orbitTable{orbits: orbits, timeout: directory.DefaultParkTimeout, held: make(map[string]*orbitSlot)}
}

// configure sets the orbits, the ring-back timeout and the music on hold.
// Calls parked on an orbit that is no longer one stay until they leave.
func (t *orbitTable) configure(orbits []string, timeout time.Duration, moh string, music *media.Clip) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.orbits, t.timeout, t.moh, t.music = orbits, timeout, moh, music
}

// MusicOnHold is what parked callers hear: nil for silence.
func (t *orbitTable) MusicOnHold() *media.Clip {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.music
}

// IsOrbit reports whether num is an orbit, or holds a parked call.
func (t *orbitTable) IsOrbit(num string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Contains(t.orbits, num) || t.held[num] != nil
}

// ringBackAfter is how long a parked call waits before it rings back its
// parker (0: never).
func (t *orbitTable) ringBackAfter() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.timeout
}

// claim files s on orbit want, or on the first free orbit when want is "".
func (t *orbitTable) claim(want string, s *orbitSlot) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if want == "" {
		if len(t.orbits) == 0 {
			return "", errParkDisabled
		}
		for _, o := range t.orbits {
			if t.held[o] == nil {
				want = o
				break
			}
		}
		if want == "" {
			return "", errNoFreeOrbit
		}
	}
	switch {
	case !slices.Contains(t.orbits, want):
		return "", errNotAnOrbit
	case t.held[want] != nil:
		return "", errOrbitBusy
	}
	s.orbit = want
	t.held[want] = s
	return want, nil
}

// free empties orbit if c holds it.
func (t *orbitTable) free(orbit string, c *call.Call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.held[orbit]; s != nil && s.c == c {
		delete(t.held, orbit)
	}
}

// Slot returns what orbit holds, or nil.
func (t *orbitTable) Slot(orbit string) *orbitSlot {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.held[orbit]; s != nil {
		cp := *s
		return &cp
	}
	return nil
}

// parked returns the slots held, longest parked first.
func (t *orbitTable) parked() []orbitSlot {
	t.mu.Lock()
	out := make([]orbitSlot, 0, len(t.held))
	for _, s := range t.held {
		out = append(out, *s)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b orbitSlot) int { return a.since.Compare(b.since) })
	return out
}

// Load reads the park settings into the orbit table (Server.loadPark).
func (pl *Lot) Load(ctx context.Context) error {
	b := pl.Core
	vals := make(map[string]string, len(directory.ParkSettings))
	for _, k := range directory.ParkSettings {
		v, err := b.Store.Setting(ctx, k)
		if err != nil {
			return fmt.Errorf("setting %s: %w", k, err)
		}
		vals[k] = v
	}
	t := pl.Orbits
	t.mu.Lock()
	orbits, timeout, moh, music := t.orbits, t.timeout, t.moh, t.music
	t.mu.Unlock()
	if o, err := directory.ParseParkOrbits(vals[directory.SettingParkOrbits]); err != nil {
		b.Log.Warn("park orbits setting ignored", "err", err)
	} else {
		orbits = o
	}
	if d, err := directory.ParseParkTimeout(vals[directory.SettingParkTimeout]); err != nil {
		b.Log.Warn("park timeout setting ignored", "err", err)
	} else {
		timeout = d
	}
	// The music is read again only when the setting names another file.
	if m := vals[directory.SettingParkMOH]; m != moh || (m != "" && music == nil) {
		moh, music = m, nil
		if m != "" {
			clip, err := media.LoadWAV(m)
			if err != nil {
				b.Log.Warn("park music on hold not played: parked callers hear silence", "path", m, "err", err)
			} else {
				music = clip
			}
		}
	}
	t.configure(orbits, timeout, moh, music)
	return nil
}
