package media

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// A recording's file is created off the path that answers the call
// (NewRecorderLater): the recorder writes through a laterFile, which
// waits for the creating goroutine.

// laterFile is a recording's file being created by a goroutine
// (createLater); each method waits until it is, then acts on it.
type laterFile struct {
	ready chan struct{} // closed once f or err is set
	f     *os.File
	err   error
}

// createLater starts creating the WAV file at path (it must not exist,
// its directory is made if missing) with an empty header.
func createLater(path string) *laterFile {
	lf := &laterFile{ready: make(chan struct{})}
	go func() {
		defer close(lf.ready)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if errors.Is(err, fs.ErrNotExist) {
			if err = os.MkdirAll(filepath.Dir(path), 0o750); err == nil {
				f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
			}
		}
		if err != nil {
			lf.err = fmt.Errorf("new recorder: %w", err)
			return
		}
		h := wavHeader(0)
		if _, err := f.Write(h[:]); err != nil {
			f.Close()
			os.Remove(path)
			lf.err = fmt.Errorf("new recorder %s: %w", path, err)
			return
		}
		lf.f = f
	}()
	return lf
}

func (lf *laterFile) file() (*os.File, error) {
	<-lf.ready
	return lf.f, lf.err
}

func (lf *laterFile) Write(p []byte) (int, error) {
	f, err := lf.file()
	if err != nil {
		return 0, err
	}
	return f.Write(p)
}

func (lf *laterFile) WriteAt(p []byte, off int64) (int, error) {
	f, err := lf.file()
	if err != nil {
		return 0, err
	}
	return f.WriteAt(p, off)
}

func (lf *laterFile) Truncate(size int64) error {
	f, err := lf.file()
	if err != nil {
		return err
	}
	return f.Truncate(size)
}

func (lf *laterFile) Sync() error {
	f, err := lf.file()
	if err != nil {
		return err
	}
	return f.Sync()
}

// Close closes the file; one never created has nothing to close (its
// error came from the writes).
func (lf *laterFile) Close() error {
	f, err := lf.file()
	if err != nil {
		return nil
	}
	return f.Close()
}
