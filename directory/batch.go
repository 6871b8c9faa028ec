package directory

import "strconv"

// RowError says which item of a batch an error is about: CreateUsers and
// SaveCalls refuse a whole batch with the index of the first item they
// could not store.
type RowError struct {
	Index int // from 0, into the batch
	Err   error
	Item  string // what the batch holds, "user" when empty
}

func (e *RowError) Error() string {
	item := e.Item
	if item == "" {
		item = "user"
	}
	return item + " " + strconv.Itoa(e.Index+1) + " of the batch: " + e.Err.Error()
}

// Unwrap makes errors.Is and errors.As see the error about the item.
func (e *RowError) Unwrap() error { return e.Err }
