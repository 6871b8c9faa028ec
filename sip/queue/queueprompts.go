package queue

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
)

// Spoken queue positions. The queue.prompts setting names a directory of
// WAV prompts (16-bit PCM, 8 kHz mono): position.wav, "you are caller
// number", and the numbers: N.wav for a whole number where there is one
// (10.wav, 11.wav...), else its digits 0.wav to 9.wav one after another.
// Without the directory, or with a prompt the position needs missing,
// the caller hears one short beep per place (positionBeeps).

// positionPrompts are the prompts loaded from one directory.
type positionPrompts struct {
	dir     string
	intro   *media.Clip
	numbers map[int]*media.Clip // 0 to 99, those there are
}

// promptSet holds the prompts in force; nil: none.
type promptSet struct {
	p atomic.Pointer[positionPrompts]
}

// Load reads the prompts of dir, unless they are loaded already; "" drops
// them. A directory without position.wav loads nothing, with a warning.
func (ps *promptSet) Load(b *call.Core, dir string) {
	if cur := ps.p.Load(); cur != nil && cur.dir == dir || cur == nil && dir == "" {
		return
	}
	if dir == "" {
		ps.p.Store(nil)
		return
	}
	intro, err := media.LoadWAV(filepath.Join(dir, "position.wav"))
	if err != nil {
		b.Log.Warn("queue prompts not used: callers hear their position as beeps", "dir", dir, "err", err)
		ps.p.Store(nil)
		return
	}
	p := &positionPrompts{dir: dir, intro: intro, numbers: map[int]*media.Clip{}}
	for n := range 100 {
		path := filepath.Join(dir, strconv.Itoa(n)+".wav")
		if _, err := os.Stat(path); err != nil {
			continue
		}
		clip, err := media.LoadWAV(path)
		if err != nil {
			b.Log.Warn("queue prompt not used", "path", path, "err", err)
			continue
		}
		p.numbers[n] = clip
	}
	ps.p.Store(p)
}

// positionClip is what a caller at pos hears: the prompts when they can
// say pos, else the beeps.
func (ps *promptSet) positionClip(pos int) *media.Clip {
	if p := ps.p.Load(); p != nil {
		if said, ok := p.say(pos); ok {
			return media.Concat(media.Silence(300), p.intro, said, media.Silence(300))
		}
	}
	return positionBeeps(pos)
}

// say is pos spoken: by its own prompt, or digit by digit.
func (p *positionPrompts) say(pos int) (*media.Clip, bool) {
	if c := p.numbers[pos]; c != nil {
		return c, true
	}
	var parts []*media.Clip
	for _, d := range strconv.Itoa(pos) {
		c := p.numbers[int(d-'0')]
		if c == nil {
			return nil, false
		}
		parts = append(parts, c)
	}
	return media.Concat(parts...), true
}
