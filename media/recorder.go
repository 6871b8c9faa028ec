package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Recorder timing, in samples at 8 kHz.
const (
	// ringSize is the window of frames not yet written, once the ring
	// holds them as the file does (16-bit little-endian, left then right):
	// 16 KiB, from the moment a call is heard in G.722 or changes law to
	// its Close (recorderRings). A power of two.
	ringSize = 1 << 12
	ringMask = ringSize - 1
	// codeRingSize is that window while the call is all G.711 and its
	// frames are the codes as they came (codeRing): 6144 frames, 12 KiB
	// of codes and 1.5 KiB of heard bits. It is three blocks of 2048, so
	// that with the codes' longer writes (codeBlockFrames) it leaves the
	// same room for the jitter window and packets ahead as ringSize does.
	codeRingSize = 3 * outBufFrames
	// jitterDelay is how far behind the newest arrival the file is written:
	// a packet up to this late still reaches its place.
	jitterDelay = sampleRate / 5 // 200 ms
	// aheadLimit and lateLimit bound how far an in-order packet's timestamp
	// may put it from its arrival before it counts as a timestamp jump and
	// the channel is re-anchored on arrival time.
	aheadLimit = 2 * jitterDelay
	lateLimit  = jitterDelay
	// maxPayload caps the samples taken from one packet (G.711 at 20 ms is
	// 160); more than this is not a phone's packet.
	maxPayload = ringSize / 4
	// headerEvery is how often the header's sizes are brought up to date
	// while recording, in frames: a file cut by a crash plays up to then.
	headerEvery = 2 * sampleRate
	// outBufFrames is how many final frames wait in the 16-bit ring before
	// they are written, straight from it: 256 ms of stereo audio, 8 KiB,
	// half the ring. (A write of 16 KiB costs the kernel (ext4) less per
	// byte than two of 8 KiB, but a call's memory is dearer: a ring of 32
	// KiB was most of a recorded call's.) The writes cover whole 8 KiB
	// blocks of the file, the first one less the header's 44 bytes: a
	// write that starts or ends inside a page costs the kernel about 40%
	// more per byte (it takes the page cache a page at a time there, and
	// ext4's large folios elsewhere). The ring is laid out so that they
	// start at its start or its middle (base), and none wraps round it.
	// With the jitter window it leaves room in the ring for packets up to
	// about 50 ms ahead of their arrival; one further ahead (up to
	// aheadLimit) writes the final frames early.
	outBufFrames = 1 << 11
	// codeBlockFrames is outBufFrames while the frames are codes: they are
	// decoded to a buffer of outBufs and written 16 KiB, 512 ms, at a
	// time, for 4.5 KiB more a call (a code ring of 6144 frames instead
	// of 4096). BenchmarkRecordersCPU -benchtime 20x, 8 KiB writes then
	// 16 KiB, alternated five times, medians: the kernel's CPU a recorded
	// packet (sys-ns/pkt) 332 -> 214, the recorder's own (user-ns/pkt,
	// fewer system calls) 281 -> 235. The price: a crash (kill -9) loses
	// what waits in the ring, up to 0.7 s of a call's end instead of
	// 0.45 s.
	codeBlockFrames = 2 * outBufFrames
)

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	// Codecs maps RTP payload types to codecs (PCMU, PCMA, G722); nil
	// means the static types, 0 (PCMU), 8 (PCMA) and 9 (G722). Packets of
	// any other type (RFC 4733 telephone-events, comfort noise) are not
	// audio: their time stays silent.
	Codecs map[uint8]Codec
	Logger *slog.Logger // nil discards
}

// RecorderStats describes a recording so far.
type RecorderStats struct {
	Packets     uint64        // audio packets placed
	Late        uint64        // audio packets that arrived after their place was written
	Skipped     uint64        // packets that are not audio, and stragglers of a replaced SSRC
	Jumps       uint64        // timestamp jumps bridged by arrival time
	SSRCChanges uint64        // new SSRCs after the first, both channels
	Duration    time.Duration // audio in the file
}

// Recorder writes a call's G.711 or G.722 audio to a stereo WAV file
// (16-bit PCM, 8 kHz; G.722 is brought down from 16 kHz): leg A on the
// left channel, leg B on the right. It is a Tap: attach
// it to a Relay with SetTap.
//
// Samples go where their RTP timestamps put them, so reordered packets land
// in their place and lost packets, silence suppression and holds become
// silence. Arrival time anchors each SSRC on a timeline shared by both
// channels and bridges timestamp jumps. The file is written as the call
// goes, 0.2 to 0.7 s behind it, with bounded memory (about 14 KiB for
// G.711, 17 KiB once G.722 is heard), and its header is brought up to
// date every 2 s of audio, so a file cut short by a crash plays up to then
// (and RepairWAV fixes the rest). Close finishes it.
type Recorder struct {
	log    *slog.Logger
	codecs map[uint8]Codec

	mu      sync.Mutex
	f       wavFile
	closed  bool
	err     error             // the first write error; the recording stops there
	full    bool              // the file reached the WAV size limit
	dataLen int64             // bytes of samples in the file
	hdrLen  int64             // the data size the header on disk gives
	hdr     [wavHeadSize]byte // kept here so that writing it does not allocate

	// The timeline, in samples: position 0 is the arrival of the first
	// packet. The file starts at the earliest sample placed before the
	// first write, which may be up to jitterDelay before 0, since the first
	// packet to arrive need not be the first one sent.
	started   bool
	t0        time.Time
	now       int64 // newest arrival
	written   int64 // the next frame to write (the write cursor)
	flushed   int64 // the next frame to reach the file: those before written wait in the ring
	header    int64 // written at the last header update
	originSet bool
	minPos    int64 // earliest sample placed, until the origin is set

	// ring holds the frames at positions flushed..flushed+ringSize, in the
	// file's format, the frame at position p in slot (p-base)&ringMask; a
	// frame slot is silent until a sample is placed in it and silent again
	// once written. Once the origin is set, base is a position whose frame
	// would start a block of the file (outBufFrames).
	//
	// While every sample placed is G.711, of one law a channel, the frames
	// are in codes instead, in half the memory a frame: the codes as they
	// came (law gives each channel's), decoded as they are written, those
	// at positions flushed..flushed+codeRingSize, the frame at p in slot
	// p mod codeRingSize (codeSlot). The first G.722 packet, or a
	// channel's change of law, widens them into ring for the rest of the
	// recording.
	ring  *recorderRing // nil before the first sample, in codes, and after Close
	codes codeRing      // codes.codes nil unless the frames are there
	law   [2]*[256]int16
	base  int64
	ch    [2]recChannel
	stats RecorderStats
}

// wavFile is what a Recorder writes to; *os.File is one.
type wavFile interface {
	io.Writer
	io.WriterAt
	Sync() error
	Close() error
}

// recChannel is one leg's pending samples and where its stream sits on the
// recording's timeline.
type recChannel struct {
	side int   // the offset of its samples in a frame: 0 left, 2 right
	end  int64 // one past the last sample placed

	anchored bool
	ssrc     uint32
	oldSSRC  uint32 // the SSRC this one replaced
	hasOld   bool
	off      int64  // position = extended timestamp + off
	lastTS   uint32 // timestamp of the newest in-order packet
	ext      int64  // its extended timestamp
	maxSeq   uint16

	g722 *g722Channel // nil until the channel's first G.722 packet
}

// NewRecorder creates the WAV file at path (it must not exist) and returns
// a Recorder writing to it. The caller must Close it.
func NewRecorder(path string, cfg RecorderConfig) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("new recorder: %w", err)
	}
	r, err := newRecorder(f, cfg)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("new recorder %s: %w", path, err)
	}
	return r, nil
}

// NewRecorderLater is NewRecorder with the file created by a goroutine of
// its own, so that the caller (a call being answered) does not wait for
// the file system; a missing parent directory is made. The Recorder takes
// packets at once: its ring holds them until the file is there (its first
// write comes some 0.7 s into the recording; one that finds the file not
// yet created waits for it). A file that cannot be created stops the
// recording as a failed write does, and Close returns why.
func NewRecorderLater(path string, cfg RecorderConfig) *Recorder {
	return newRecorderOn(createLater(path), cfg)
}

func newRecorder(f wavFile, cfg RecorderConfig) (*Recorder, error) {
	h := wavHeader(0)
	if _, err := f.Write(h[:]); err != nil {
		return nil, err
	}
	return newRecorderOn(f, cfg), nil
}

// newRecorderOn is a Recorder on f, whose header is written already.
func newRecorderOn(f wavFile, cfg RecorderConfig) *Recorder {
	r := &Recorder{
		log:    cfg.Logger,
		codecs: cfg.Codecs,
		f:      f,

		written: -jitterDelay,
		flushed: -jitterDelay,
		minPos:  1<<63 - 1,
	}
	r.ch[1].side = 2
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// codec returns the decoding table of a G.711 payload type, or nil and
// true for G.722.
func (r *Recorder) codec(pt uint8) (*[256]int16, bool) {
	c := Codec(pt)
	if r.codecs != nil {
		var ok bool
		if c, ok = r.codecs[pt]; !ok {
			return nil, false
		}
	}
	switch c {
	case PCMU:
		return ulawDecode, true
	case PCMA:
		return alawDecode, true
	case G722:
		return nil, true
	}
	return nil, false
}

// g722Channel decodes one channel's G.722 to 8 kHz: the stream is decoded
// at 16 kHz and halved, as the relay does for a G.711 phone. It is made
// at the channel's first G.722 packet, and holds only the decoder's and
// the filter's state: the samples go through a g722Scratch.
type g722Channel struct {
	dec  G722Decoder
	down downsampler
}

// g722Scratch is where one packet's G.722 is decoded: 6 KiB, taken from
// g722Scratches for the packet rather than held by each channel for the
// whole call.
type g722Scratch struct {
	pcm16 [2 * maxPayload]int16
	pcm8  [maxPayload]int16
}

var g722Scratches = sync.Pool{New: func() any { return new(g722Scratch) }}

// decode returns payload as samples at 8 kHz, one a byte, in s.
func (g *g722Channel) decode(s *g722Scratch, payload []byte) []int16 {
	n := g.dec.Decode(s.pcm16[:], payload)
	g.down.run(s.pcm8[:n/2], s.pcm16[:n])
	return s.pcm8[:n/2]
}

// RTP takes one packet of leg l (LegA left, LegB right). It implements Tap;
// packets after Close are ignored.
func (r *Recorder) RTP(l Leg, p *Packet) {
	if l > LegB {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.err != nil || r.full {
		return
	}
	if !r.started {
		r.started, r.t0 = true, p.Arrival
	}
	apos := max(int64(p.Arrival.Sub(r.t0)/(time.Second/sampleRate)), 0)
	r.now = max(r.now, apos)
	if dec, ok := r.codec(p.PayloadType); ok {
		var pcm []int16
		if dec == nil { // G.722: decoded in arrival order, as a phone would
			c := &r.ch[l]
			if c.g722 == nil {
				c.g722 = new(g722Channel)
				c.g722.dec.Reset()
			}
			s := g722Scratches.Get().(*g722Scratch)
			defer g722Scratches.Put(s) // once place took the samples
			pcm = c.g722.decode(s, p.Payload[:min(len(p.Payload), maxPayload)])
		}
		r.place(&r.ch[l], dec, pcm, p, apos)
	} else {
		r.stats.Skipped++
	}
	r.flushTo(r.now - jitterDelay)
}

// place decodes p's payload with the G.711 table dec, or takes the
// samples pcm decoded already when dec is nil, into c's ring at the
// position its timestamp gives.
func (r *Recorder) place(c *recChannel, dec *[256]int16, pcm []int16, p *Packet, apos int64) {
	pos, ok := r.position(c, p, apos)
	if !ok {
		r.stats.Skipped++
		return
	}
	ch := c.side / 2
	switch {
	case r.ring != nil:
	case r.codes.codes == nil && dec != nil:
		r.codes = codeRings.get()
		r.law[ch] = dec
	case r.codes.codes == nil:
		r.ring = recorderRings.get()
	case dec == nil || (r.law[ch] != nil && r.law[ch] != dec):
		r.widen()
	case r.law[ch] == nil:
		r.law[ch] = dec
	}
	payload := p.Payload[:min(len(p.Payload), maxPayload)]
	n := int64(len(payload))
	if dec == nil {
		n = int64(len(pcm))
	}
	var skip int64
	slots := r.slots()
	if pos < r.written {
		skip = r.written - pos
		if skip >= n {
			r.stats.Late++
			return
		}
		n, pos = n-skip, r.written
	}
	if need := pos + n - slots; need > r.flushed {
		// Reached by a packet far ahead of its arrival: the final frames
		// are written early. Only timing no phone has makes frames final
		// early (flushTo moves the write cursor); that keeps memory bounded.
		r.flushTo(need)
		r.drain(min(r.blockEnd(need-1), r.written))
	}
	// The samples go in at most two runs, the second one from the ring's
	// start.
	for done := int64(0); done < n; {
		at := r.slot(pos + done)
		run := min(n-done, slots-at)
		if r.ring == nil { // codes: G.711
			// A copy into the channel's plane of codes. Interleaved codes
			// took a loop storing every other byte, 60% of the
			// recorder's user-space CPU in BenchmarkRecordersCPU; planes,
			// alternated A B A B A B (-benchtime 20x): Recorders1000
			// 500 549 503 -> 367 344 387 ns/pkt, RecordersCPU user-ns/pkt
			// 336 352 328 -> 245 355 295.
			copy(r.codes.codes[ch][at:at+run], payload[skip+done:skip+done+run])
			r.codes.hear(ch, at, run)
			done += run
			continue
		}
		slots := r.ring[at*frameBytes+int64(c.side) : (at+run)*frameBytes]
		if dec != nil {
			for i, b := range payload[skip+done : skip+done+run] {
				binary.LittleEndian.PutUint16(slots[i*frameBytes:], uint16(dec[b]))
			}
		} else {
			for i, v := range pcm[skip+done : skip+done+run] {
				binary.LittleEndian.PutUint16(slots[i*frameBytes:], uint16(v))
			}
		}
		done += run
	}
	c.end = max(c.end, pos+n)
	if !r.originSet {
		r.minPos = min(r.minPos, pos)
	}
	r.stats.Packets++
}

// position returns where p's first sample goes on the timeline, updating
// the channel's anchoring. It reports false for a packet to drop.
func (r *Recorder) position(c *recChannel, p *Packet, apos int64) (int64, bool) {
	switch {
	case c.anchored && p.SSRC == c.ssrc:
		ext := c.ext + int64(int32(p.Timestamp-c.lastTS))
		pos := ext + c.off
		dev := pos - apos
		if int16(p.SequenceNumber-c.maxSeq) <= 0 {
			// Reordered or duplicate: place it by its timestamp, unless the
			// timestamp makes no sense, since only in-order packets re-anchor.
			return pos, dev <= aheadLimit && dev >= -ringSize
		}
		c.maxSeq, c.lastTS, c.ext = p.SequenceNumber, p.Timestamp, ext
		if dev > aheadLimit || dev < -lateLimit {
			// A jump (hold, a restarted clock) or drift beyond the jitter
			// window: trust arrival time from here on.
			c.off = apos - ext
			r.stats.Jumps++
			return apos, true
		}
		return pos, true
	case c.anchored && c.hasOld && p.SSRC == c.oldSSRC:
		return 0, false
	}
	if c.anchored {
		c.oldSSRC, c.hasOld = c.ssrc, true
		r.stats.SSRCChanges++
	}
	c.anchored, c.ssrc = true, p.SSRC
	c.lastTS, c.ext, c.off, c.maxSeq = p.Timestamp, 0, apos, p.SequenceNumber
	return apos, true
}

// flushTo moves the write cursor to target: the frames before it are
// final, and reach the file a buffer at a time.
func (r *Recorder) flushTo(target int64) {
	if !r.originSet {
		if target <= r.minPos {
			return // nothing placed before target: nothing to write yet
		}
		r.originSet = true
		r.written = max(r.written, r.minPos)
		r.flushed, r.header = r.written, r.written
		r.rebase(r.written - wavHeadSize/frameBytes)
	}
	if r.err == nil && !r.full {
		r.written = max(r.written, target)
	}
	for r.err == nil && !r.full {
		next := r.blockEnd(r.flushed)
		if next > r.written {
			break
		}
		r.drain(next)
		if r.flushed-r.header >= headerEvery {
			r.writeHeader()
		}
	}
}

// write appends buf to the file's samples, up to the WAV size limit.
func (r *Recorder) write(buf []byte) {
	if room := maxWAVData - r.dataLen; int64(len(buf)) > room {
		buf = buf[:room]
		r.full = true
		r.log.Warn("recording reached the wav size limit")
	}
	n, err := r.f.Write(buf)
	r.dataLen += int64(n)
	if err != nil {
		r.err = fmt.Errorf("write recording: %w", err)
		r.log.Error("recording stopped", "err", err)
	}
}

// writeHeader brings the header's sizes up to date with what was written.
func (r *Recorder) writeHeader() {
	r.header = r.flushed
	if r.err != nil {
		return
	}
	r.hdr = wavHeader(uint32(r.dataLen))
	if _, err := r.f.WriteAt(r.hdr[:], 0); err != nil {
		r.err = fmt.Errorf("write recording header: %w", err)
		r.log.Error("recording stopped", "err", err)
		return
	}
	r.hdrLen = r.dataLen
}

// settle brings a file whose writing failed (a full disk) in line with its
// header: the samples that reached the file are kept up to the last whole
// frame, the file is cut there and the header rewritten to say so. The
// header's blocks are already allocated, so rewriting it needs no space;
// if it fails anyway, the file is cut to what the header on disk says.
// Stats and the file then agree on the duration.
func (r *Recorder) settle() {
	tr, ok := r.f.(interface{ Truncate(int64) error })
	if !ok {
		return
	}
	r.dataLen -= r.dataLen % frameBytes
	h := wavHeader(uint32(r.dataLen))
	if err := tr.Truncate(wavHeadSize + r.dataLen); err == nil {
		if _, err := r.f.WriteAt(h[:], 0); err == nil {
			r.hdrLen = r.dataLen
			return
		}
	}
	if err := tr.Truncate(wavHeadSize + r.hdrLen); err != nil {
		r.log.Error("recording left inconsistent", "err", err)
		return
	}
	r.dataLen = r.hdrLen
}

// Stats returns the recording's counters so far.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Duration = time.Duration(r.dataLen/frameBytes) * (time.Second / sampleRate)
	return s
}

// Close writes what is pending up to the last sample received, finishes the
// header, syncs and closes the file. It returns the first error the
// recording met; calling it again returns that error too.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.err
	}
	r.closed = true
	r.flushTo(max(r.ch[0].end, r.ch[1].end))
	r.drain(r.written)
	r.writeHeader()
	err := r.err
	if err == nil {
		err = r.f.Sync()
	} else {
		r.settle()
		_ = r.f.Sync()
	}
	if r.ring != nil {
		recorderRings.put(r.ring) // silenced there, with what a failed write left
		r.ring = nil
	}
	if r.codes.codes != nil {
		codeRings.put(r.codes)
		r.codes = codeRing{}
	}
	err = errors.Join(err, r.f.Close())
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("close recording: %w", err)
	}
	return r.err
}
