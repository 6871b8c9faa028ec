package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// errTampered is a recording whose file is not the one recorded: a
// symlink, a path leaving the recordings directory, or a size or SHA-256
// that no longer matches its row. It answers 410 and is audited.
var errTampered = errors.New("recording file does not match its row")

// errFileGone is a recording row whose file is missing or is not a regular
// file: 404 with the usual error, never 200 with an error body.
var errFileGone = fmt.Errorf("recording file: %w", directory.ErrNotFound)

// recordingRel returns rec's path relative to the recordings directory,
// or errTampered when it leads outside it.
func (s *Server) recordingRel(rec *directory.Recording) (dir, rel string, err error) {
	if s.cfg.RecordingsDir == "" {
		return "", "", fmt.Errorf("recording %d: no recordings directory configured", rec.ID)
	}
	dir, err = filepath.Abs(s.cfg.RecordingsDir)
	if err != nil {
		return "", "", fmt.Errorf("recordings directory: %w", err)
	}
	path, err := filepath.Abs(rec.Path)
	if err != nil {
		return "", "", fmt.Errorf("recording %d: %w", rec.ID, err)
	}
	rel, err = filepath.Rel(dir, path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", "", fmt.Errorf("recording %d: path outside the recordings directory: %w", rec.ID, errTampered)
	}
	return dir, rel, nil
}

// removeRecording removes rec's file through an os.Root on the recordings
// directory: a symlink is removed, never what it points to, and a row
// pointing outside the directory removes nothing (errTampered). A file
// already gone is fine.
func (s *Server) removeRecording(rec *directory.Recording) error {
	dir, rel, err := s.recordingRel(rec)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recordings directory: %w", err)
	}
	defer root.Close()
	if err := root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete recording %d: %w", rec.ID, err)
	}
	return nil
}

// openRecording opens rec's file through an os.Root on the recordings
// directory, so that neither the path nor a symlink on the way leads
// outside it, refuses a file that is itself a symlink, and checks the
// file's size and SHA-256 against the row. The file is positioned at 0.
func (s *Server) openRecording(rec *directory.Recording) (*os.File, fs.FileInfo, error) {
	dir, rel, err := s.recordingRel(rec)
	if err != nil {
		return nil, nil, err
	}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errFileGone
	}
	if err != nil {
		return nil, nil, fmt.Errorf("recordings directory: %w", err)
	}
	defer root.Close()
	li, err := root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, errFileGone
	case err != nil:
		// A symlinked directory on the way that leads outside the root.
		return nil, nil, fmt.Errorf("recording %d: %w: %w", rec.ID, errTampered, err)
	case li.Mode()&fs.ModeSymlink != 0:
		return nil, nil, fmt.Errorf("recording %d: the file is a symlink: %w", rec.ID, errTampered)
	case !li.Mode().IsRegular():
		return nil, nil, errFileGone
	}
	f, err := root.Open(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errFileGone
	}
	if err != nil {
		return nil, nil, fmt.Errorf("recording %d: %w: %w", rec.ID, errTampered, err)
	}
	st, err := f.Stat()
	if err == nil && (!st.Mode().IsRegular() || !os.SameFile(st, li)) {
		err = fmt.Errorf("recording %d: the file changed while opened: %w", rec.ID, errTampered)
	}
	if err == nil && rec.Size > 0 && st.Size() != rec.Size {
		err = fmt.Errorf("recording %d: %d bytes, the row says %d: %w", rec.ID, st.Size(), rec.Size, errTampered)
	}
	if err == nil && rec.SHA256 != "" {
		h := sha256.New()
		if _, err = io.Copy(h, f); err == nil {
			if sum := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(sum, rec.SHA256) {
				err = fmt.Errorf("recording %d: SHA-256 differs from the row: %w", rec.ID, errTampered)
			} else {
				_, err = f.Seek(0, io.SeekStart)
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}
