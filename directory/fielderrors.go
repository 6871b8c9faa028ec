package directory

import "errors"

// fieldErrors gathers the errors of several fields so that a form shows every
// mistake at once.
type fieldErrors []error

func (f *fieldErrors) add(err error) {
	if err != nil {
		*f = append(*f, err)
	}
}

func (f fieldErrors) err() error { return errors.Join(f...) }

// Fields returns every *InvalidError inside err (which may be a join of
// several), so that a form can show each next to its field.
func Fields(err error) []*InvalidError {
	var out []*InvalidError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		var ie *InvalidError
		if errors.As(e, &ie) && ie == e {
			out = append(out, ie)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if u := errors.Unwrap(e); u != nil { // a join wrapped with context
			walk(u)
			return
		}
		if errors.As(e, &ie) {
			out = append(out, ie)
		}
	}
	walk(err)
	return out
}
