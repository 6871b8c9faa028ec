package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The recordings' format: 16-bit PCM, 8 kHz, two channels.
const (
	sampleRate  = 8000
	channels    = 2
	frameBytes  = channels * 2
	wavHeadSize = 44
	// maxWAVData is the largest data chunk a RIFF size field can describe,
	// in whole frames: about 37 hours of audio.
	maxWAVData = (1<<32 - 1 - 36) / frameBytes * frameBytes
)

// wavHeader returns a canonical 44-byte header for dataSize bytes of
// samples.
func wavHeader(dataSize uint32) [wavHeadSize]byte {
	var h [wavHeadSize]byte
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], 36+dataSize)
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16) // fmt chunk size
	le.PutUint16(h[20:], 1)  // PCM
	le.PutUint16(h[22:], channels)
	le.PutUint32(h[24:], sampleRate)
	le.PutUint32(h[28:], sampleRate*frameBytes) // bytes per second
	le.PutUint16(h[32:], frameBytes)            // block align
	le.PutUint16(h[34:], 16)                    // bits per sample
	copy(h[36:], "data")
	le.PutUint32(h[40:], dataSize)
	return h
}

// ErrNotWAV is returned by RepairWAV for a file that is not a RIFF/WAVE file
// with a PCM format chunk and a data chunk.
var ErrNotWAV = errors.New("not a wav file")

// RepairWAV fixes the RIFF and data sizes in the header of a WAV file left
// unfinished by a crash, from the file's length: the data chunk is taken to
// run to the end of the file, cut to whole sample frames. A file whose
// header is already right is left as it is.
func RepairWAV(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("repair wav: %w", err)
	}
	err = repairWAV(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("repair wav %s: %w", path, err)
	}
	return nil
}

type wavRepairFile interface {
	io.ReaderAt
	io.WriterAt
	Stat() (os.FileInfo, error)
	Truncate(size int64) error
	Sync() error
}

func repairWAV(f wavRepairFile) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	le := binary.LittleEndian
	var riff [12]byte
	if _, err := f.ReadAt(riff[:], 0); err != nil {
		return fmt.Errorf("%w: %d bytes", ErrNotWAV, size)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return fmt.Errorf("%w: no riff/wave header", ErrNotWAV)
	}
	// Walk the chunks to the data chunk; its own size field is not trusted.
	var (
		align    int64
		dataOff  int64
		declared int64 // the data chunk's own size field
	)
	for off := int64(12); dataOff == 0; {
		var ch [8]byte
		if _, err := f.ReadAt(ch[:], off); err != nil {
			return fmt.Errorf("%w: no data chunk", ErrNotWAV)
		}
		n := int64(le.Uint32(ch[4:]))
		switch string(ch[0:4]) {
		case "fmt ":
			var fmtc [16]byte
			if n < 16 {
				return fmt.Errorf("%w: short fmt chunk", ErrNotWAV)
			}
			if _, err := f.ReadAt(fmtc[:], off+8); err != nil {
				return fmt.Errorf("%w: short fmt chunk", ErrNotWAV)
			}
			align = int64(le.Uint16(fmtc[12:]))
		case "data":
			dataOff, declared = off+8, n
		}
		off += 8 + n + n&1 // chunks are padded to even sizes
	}
	if align == 0 {
		return fmt.Errorf("%w: no fmt chunk before the data chunk", ErrNotWAV)
	}
	if int64(le.Uint32(riff[4:]))+8 == size && dataOff+declared <= size && declared%align == 0 {
		return nil // finished properly
	}
	data := size - dataOff
	data -= data % align
	if limit := int64(1<<32-1) - (dataOff - 8); data > limit {
		data = limit - limit%align
	}
	if dataOff+data < size {
		// A frame cut short by the crash: drop it so that the channels stay in step.
		if err := f.Truncate(dataOff + data); err != nil {
			return err
		}
	}
	var sizes [4]byte
	le.PutUint32(sizes[:], uint32(dataOff+data-8))
	if _, err := f.WriteAt(sizes[:], 4); err != nil {
		return err
	}
	le.PutUint32(sizes[:], uint32(data))
	if _, err := f.WriteAt(sizes[:], dataOff-4); err != nil {
		return err
	}
	return f.Sync()
}
