package directory

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Limits of one import file.
const (
	// MaxImportErrors is how many problems an import reports; past it the
	// file is not read further (ImportError.More).
	MaxImportErrors = 100
	// MaxImportRows bounds the users of one file: one transaction holds
	// them all.
	MaxImportRows = 100_000
	// maxHashWorkers bounds the argon2id hashes run at once, each of
	// which takes argonMemory (19 MiB).
	maxHashWorkers = 32
)

// The columns of an import file. The header names them, in any order and
// case; the first four are required.
const (
	colName        = "name"
	colEmail       = "email"
	colExtension   = "extension"
	colExtPassword = "ext_password"
	colPassword    = "password"
	colRole        = "role"
	colGroup       = "group"
	colMobile      = "mobile"
)

var (
	importColumns  = []string{colName, colEmail, colExtension, colExtPassword, colPassword, colRole, colGroup, colMobile}
	importRequired = importColumns[:4]
)

// ImportRow is one user of an import file, validated and normalized.
type ImportRow struct {
	Line   int      // line of the file the row starts on; the header is line 1
	User   NewUser  // RoleIDs and GroupIDs are set by ImportUsers
	Roles  []string // role names or IDs as written; none: the default role
	Groups []string // group names or IDs as written; none: the default group
}

// LineError is one problem of an import file: the line and an
// *InvalidError or *ConflictError naming the column (or "header", "csv",
// "file") and the rule. It reads "line 7: email: already on line 3".
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }

// Unwrap makes errors.Is(err, ErrInvalid) (or ErrConflict) true.
func (e *LineError) Unwrap() error { return e.Err }

// ImportError lists the problems of an import file, by line; a file with
// any problem imports nothing.
type ImportError struct {
	Lines []*LineError
	More  bool // there were more than MaxImportErrors; only the first are listed
}

// Error returns one problem per line.
func (e *ImportError) Error() string {
	var b strings.Builder
	for i, l := range e.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.Error())
	}
	if e.More {
		fmt.Fprintf(&b, "\nmore problems not listed (only the first %d are)", MaxImportErrors)
	}
	return b.String()
}

// Unwrap returns the line errors, so that errors.Is and errors.As see each.
func (e *ImportError) Unwrap() []error {
	out := make([]error, len(e.Lines))
	for i, l := range e.Lines {
		out[i] = l
	}
	return out
}

// lineErrors collects the problems of a file up to MaxImportErrors.
type lineErrors struct {
	list []*LineError
	more bool
}

// add records each field error inside err (a join of several, or one
// *InvalidError or *ConflictError) against line. It reports false once the
// list is full, when reading on is no use.
func (l *lineErrors) add(line int, err error) bool {
	if err == nil {
		return !l.more
	}
	var errs []error
	for _, ie := range Fields(err) {
		errs = append(errs, ie)
	}
	if len(errs) == 0 {
		errs = []error{fieldError(err)}
	}
	for _, e := range errs {
		if len(l.list) == MaxImportErrors {
			l.more = true
			return false
		}
		l.list = append(l.list, &LineError{Line: line, Err: e})
	}
	return !l.more
}

func (l *lineErrors) err() error {
	if len(l.list) == 0 {
		return nil
	}
	return &ImportError{Lines: l.list, More: l.more}
}

// fieldError returns the *ConflictError or *InvalidError inside err without
// the context it was wrapped in, or err itself when it has neither.
func fieldError(err error) error {
	var ce *ConflictError
	if errors.As(err, &ce) {
		return ce
	}
	var ie *InvalidError
	if errors.As(err, &ie) {
		return ie
	}
	return err
}

// importRefs is what rows are checked against in the store: roles and
// groups by name or ID, and the numbers and emails already in use.
type importRefs struct {
	roles    []Role
	groups   []Group
	defGroup *Group
	emails   map[string]bool // of users not deleted
	numbers  map[string]bool // of users not deleted and of groups
	country  string          // numbers.default_country, for mobile numbers
}

func loadImportRefs(ctx context.Context, st Store) (*importRefs, error) {
	roles, err := st.Roles(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := st.Groups(ctx)
	if err != nil {
		return nil, err
	}
	users, err := st.SIPUsers(ctx) // every user not deleted
	if err != nil {
		return nil, err
	}
	country, err := DefaultCountry(ctx, st)
	if err != nil {
		return nil, err
	}
	r := &importRefs{roles: roles, groups: groups, country: country, emails: make(map[string]bool, len(users)),
		numbers: make(map[string]bool, len(users)+len(groups))}
	for i, g := range groups {
		if g.Extension != "" {
			r.numbers[g.Extension] = true
		}
		if g.Default {
			r.defGroup = &groups[i]
		}
	}
	for _, u := range users {
		r.emails[NormalizeEmail(u.Email)] = true
		r.numbers[u.Extension] = true
	}
	return r, nil
}

func (r *importRefs) role(want string) (int64, bool) {
	for _, x := range r.roles {
		if strings.EqualFold(x.Name, want) || strings.EqualFold(x.Builtin, want) || strconv.FormatInt(x.ID, 10) == want {
			return x.ID, true
		}
	}
	return 0, false
}

func (r *importRefs) group(want string) (*Group, bool) {
	for i, g := range r.groups {
		if strings.EqualFold(g.Name, want) || strconv.FormatInt(g.ID, 10) == want {
			return &r.groups[i], true
		}
	}
	return nil, false
}

// ParseUsersCSV reads an import file and checks every row on its own and
// against the others, without a store: the header (names in any case and
// order, "-" or " " for "_": name, email, extension, ext_password, and
// optionally password, role, group, mobile), each field by the rules of NewUser.Validate under policy,
// and emails and extensions appearing twice. Role and group cells may list
// several names or IDs separated by ';' or '|'. A byte order mark, CRLF line
// ends, quoted fields and blank lines are accepted.
//
// It returns every row, or an *ImportError naming each problem by line and
// column (up to MaxImportErrors).
func ParseUsersCSV(r io.Reader, policy PasswordPolicy) ([]ImportRow, error) {
	return parseUsersCSV(r, policy, nil)
}

// ImportUsers reads an import file (see ParseUsersCSV), checks it against
// the store too (roles and groups named, group prefixes, numbers and emails
// in use), hashes the passwords (argon2id for web passwords, on every CPU;
// digest HA1 for extension passwords) and stores every user in one
// transaction, or none. Problems of the file come back as an *ImportError
// naming each by line and column; nothing is stored then.
func ImportUsers(ctx context.Context, st Store, r io.Reader, policy PasswordPolicy) ([]*User, error) {
	refs, err := loadImportRefs(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	rows, err := parseUsersCSV(r, policy, refs)
	if err != nil {
		return nil, err
	}
	realm, err := st.Setting(ctx, SettingDomain)
	if err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	users, err := hashImport(ctx, rows, realm)
	if err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	if err := st.CreateUsers(ctx, users); err != nil {
		// Someone changed the directory between the checks and the write:
		// the store names the user, the file knows its line.
		var re *RowError
		if errors.As(err, &re) && re.Index >= 0 && re.Index < len(rows) &&
			(errors.Is(re.Err, ErrInvalid) || errors.Is(re.Err, ErrConflict)) {
			var l lineErrors
			l.add(rows[re.Index].Line, re.Err)
			return nil, l.err()
		}
		return nil, fmt.Errorf("import users: %w", err)
	}
	return users, nil
}

// parseUsersCSV is ParseUsersCSV, also checking rows against refs when not nil.
func parseUsersCSV(r io.Reader, policy PasswordPolicy, refs *importRefs) ([]ImportRow, error) {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // a short row is reported with its line, not as a syntax error
	var errs lineErrors

	header, err := cr.Read()
	if err == io.EOF {
		errs.add(1, invalid("header", "the file is empty; the first line must name the columns "+
			strings.Join(importRequired, ",")+" and optionally "+strings.Join(importColumns[4:], ",")))
		return nil, errs.err()
	}
	if err != nil {
		errs.add(csvLine(err, 1), csvError(err))
		return nil, errs.err()
	}
	cols, herrs := importHeader(header)
	if len(herrs) > 0 {
		for _, e := range herrs {
			errs.add(1, e)
		}
		return nil, errs.err()
	}

	var rows []ImportRow
	firstEmail := map[string]int{}
	firstExt := map[string]int{}
	lastLine := 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs.add(csvLine(err, lastLine+1), csvError(err)) // the reader cannot go on after a syntax error
			break
		}
		line, _ := cr.FieldPos(0)
		lastLine = line
		if blankRecord(rec) {
			continue // spreadsheets end files with rows of empty cells
		}
		if len(rows) == MaxImportRows {
			errs.add(line, invalid("file", fmt.Sprintf("has more than %d users; split it into several files", MaxImportRows)))
			break
		}
		if len(rec) != len(header) {
			if !errs.add(line, invalid("csv", fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header)))) {
				break
			}
			continue
		}
		row, rerrs := importRow(line, rec, cols, policy, refs)
		ok := true
		for _, e := range rerrs {
			ok = errs.add(line, e)
		}
		// Duplicates within the file, once the value itself is valid.
		if ValidateEmail(row.User.Email) == nil {
			if first, dup := firstEmail[row.User.Email]; dup {
				ok = errs.add(line, Conflict(colEmail, "already on line "+strconv.Itoa(first)))
			} else {
				firstEmail[row.User.Email] = line
			}
		}
		if ValidateExtension(colExtension, row.User.Extension) == nil {
			if first, dup := firstExt[row.User.Extension]; dup {
				ok = errs.add(line, Conflict(colExtension, "already on line "+strconv.Itoa(first)))
			} else {
				firstExt[row.User.Extension] = line
			}
		}
		if !ok {
			break
		}
		rows = append(rows, row)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		errs.add(lastLine+1, invalid("file", "has no users after the header"))
		return nil, errs.err()
	}
	return rows, nil
}

// importHeader maps each column to its index in the file. Names are
// compared without case and surrounding space, "-" and " " read as "_".
func importHeader(header []string) (map[string]int, []error) {
	cols := make(map[string]int, len(header))
	var errs []error
	norm := strings.NewReplacer("-", "_", " ", "_")
	for i, h := range header {
		name := norm.Replace(strings.ToLower(strings.TrimSpace(h)))
		switch {
		case name == "":
			errs = append(errs, invalid("header", fmt.Sprintf("column %d has no name", i+1)))
		case !slices.Contains(importColumns, name):
			errs = append(errs, invalid("header", fmt.Sprintf("unknown column %q; the columns are %s",
				strings.TrimSpace(h), strings.Join(importColumns, ", "))))
		default:
			if _, dup := cols[name]; dup {
				errs = append(errs, invalid("header", fmt.Sprintf("column %q appears twice", name)))
			}
			cols[name] = i
		}
	}
	for _, c := range importRequired {
		if _, ok := cols[c]; !ok {
			errs = append(errs, invalid("header", fmt.Sprintf("missing column %q", c)))
		}
	}
	return cols, errs
}

// importRow validates one record; refs, when not nil, resolves its roles and
// groups and checks it against the users and groups stored.
func importRow(line int, rec []string, cols map[string]int, policy PasswordPolicy, refs *importRefs) (ImportRow, []error) {
	cell := func(col string) string {
		if i, ok := cols[col]; ok {
			return rec[i]
		}
		return ""
	}
	row := ImportRow{Line: line, User: NewUser{
		Name:        cell(colName),
		Email:       cell(colEmail),
		Extension:   strings.TrimSpace(cell(colExtension)),
		ExtPassword: Password(cell(colExtPassword)),
		Password:    Password(cell(colPassword)),
		Mobile:      strings.TrimSpace(cell(colMobile)),
	}, Roles: splitList(cell(colRole)), Groups: splitList(cell(colGroup))}
	country := SettingDefaults[SettingDefaultCountry]
	if refs != nil {
		country = refs.country
	}
	row.User.Mobile = NormalizeMobile(row.User.Mobile, country)
	var errs []error
	for _, col := range importColumns {
		if i, ok := cols[col]; ok && !utf8.ValidString(rec[i]) {
			errs = append(errs, invalid(col, "is not UTF-8 text; save the file as CSV UTF-8"))
		}
	}
	if err := row.User.Validate(policy); err != nil { // normalizes name and email
		errs = append(errs, err)
	}
	if refs == nil {
		return row, errs
	}
	n := &row.User
	if ValidateEmail(n.Email) == nil && refs.emails[n.Email] {
		errs = append(errs, ErrEmailTaken)
	}
	extOK := ValidateExtension(colExtension, n.Extension) == nil
	if extOK && refs.numbers[n.Extension] {
		errs = append(errs, ErrExtensionTaken)
	}
	for _, want := range row.Roles {
		if id, ok := refs.role(want); ok {
			n.RoleIDs = append(n.RoleIDs, id)
		} else {
			errs = append(errs, invalid(colRole, fmt.Sprintf("no role named %q", want)))
		}
	}
	var groups []*Group
	for _, want := range row.Groups {
		if g, ok := refs.group(want); ok {
			n.GroupIDs = append(n.GroupIDs, g.ID)
			groups = append(groups, g)
		} else {
			errs = append(errs, invalid(colGroup, fmt.Sprintf("no group named %q", want)))
		}
	}
	if len(row.Groups) == 0 && refs.defGroup != nil {
		groups = append(groups, refs.defGroup)
	}
	if extOK {
		for _, g := range groups {
			if err := CheckPrefix(*g, n.Extension); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	return row, errs
}

// splitList splits a role or group cell on ';' and '|'.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// csvLine is the line a syntax error is on, or def when err does not say.
func csvLine(err error, def int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) && pe.Line > 0 {
		return pe.Line
	}
	return def
}

// csvError turns a reader's error into a rule of field "csv".
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return invalid("csv", fmt.Sprintf("%v (column %d)", pe.Err, pe.Column))
	}
	return invalid("csv", "cannot be read: "+err.Error())
}

// hashImport turns rows into users with their secrets hashed. Extension
// passwords become digest HA1 values (cheap); web passwords argon2id (tens
// of milliseconds and 19 MiB each), so those run on every CPU.
func hashImport(ctx context.Context, rows []ImportRow, realm string) ([]*User, error) {
	users := make([]*User, len(rows))
	var withPassword []int
	for i, r := range rows {
		n := r.User
		users[i] = &User{Name: n.Name, Email: n.Email, Extension: n.Extension, Mobile: n.Mobile,
			CallerID: n.CallerID, Notes: n.Notes, Language: n.Language, State: UserActive,
			RoleIDs: n.RoleIDs, GroupIDs: n.GroupIDs, SIP: NewSIPSecret(n.Extension, realm, n.ExtPassword)}
		if n.Password != "" {
			withPassword = append(withPassword, i)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), maxHashWorkers, len(withPassword))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(withPassword) {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				i := withPassword[k]
				h, err := HashPassword(rows[i].User.Password)
				if err != nil {
					errs[w] = err
					return
				}
				users[i].PasswordHash = h
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return users, nil
}
