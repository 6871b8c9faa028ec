package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// callFilter reads the filters of the call history from the query: from
// and to (dates, 2006-01-02, which are days in the viewer's time zone loc,
// or RFC 3339 times), user, group, number, disposition. Bad values are
// invalid, not ignored.
func callFilter(q url.Values, subj *authz.Subject, loc *time.Location) (directory.CallFilter, error) {
	f := directory.CallFilter{Number: strings.TrimSpace(q.Get("number")), Vis: authz.Visibility(subj, authz.CallsHistory)}
	var err error
	parse := func(field, v string, end bool) time.Time {
		if v == "" {
			return time.Time{}
		}
		if t, perr := time.Parse(time.RFC3339, v); perr == nil {
			return t
		}
		t, perr := time.ParseInLocation("2006-01-02", v, loc)
		if perr != nil {
			err = &directory.InvalidError{Field: field, Rule: "must be a date like 2025-03-14"}
			return time.Time{}
		}
		if end {
			t = t.AddDate(0, 0, 1) // "to" a day includes that day (23 or 25 hours when the clocks change)
		}
		return t
	}
	f.From = parse("from", q.Get("from"), false)
	f.To = parse("to", q.Get("to"), true)
	id := func(field, v string) int64 {
		if v == "" {
			return 0
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n <= 0 {
			err = &directory.InvalidError{Field: field, Rule: "must be an ID"}
		}
		return n
	}
	f.UserID = id("user", firstOf(q, "user", "user_id"))
	f.GroupID = id("group", firstOf(q, "group", "group_id"))
	if d := q.Get("disposition"); d != "" {
		if !directory.Disposition(d).Valid() {
			err = &directory.InvalidError{Field: "disposition", Rule: "unknown disposition"}
		}
		f.Disposition = directory.Disposition(d)
	}
	return f, err
}

func firstOf(q url.Values, keys ...string) string {
	for _, k := range keys {
		if v := q.Get(k); v != "" {
			return v
		}
	}
	return ""
}

type callListPage struct {
	Calls        []directory.Call
	Q            url.Values
	Groups       []treeGroup
	Dispositions []directory.Disposition
	CSV          string
	Pager        pager
	Error        string
	Recordings   map[int64]int64 // call ID → its recording the viewer may play or download
}

var dispositions = []directory.Disposition{directory.Answered, directory.Busy, directory.NoAnswer,
	directory.Unavailable, directory.Cancelled, directory.Failed, directory.Denied}

// callList shows the call history the viewer may see: calls.history's
// scope becomes the SQL filter, so the database never returns the rest.
func (s *Server) callList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cp := callListPage{Q: q, Dispositions: dispositions, CSV: "/calls.csv?" + q.Encode()}
	f, err := callFilter(q, subject(r), s.location(r))
	status := http.StatusOK
	if fe := formErrors(err); fe != nil {
		status = http.StatusBadRequest
		for k, v := range fe {
			cp.Error = k + ": " + v
		}
	} else if err == nil {
		f.Page = pageParam(r)
		cp.Calls, err = s.store.Calls(r.Context(), f)
		cp.Pager = newPager(r, f.Page, len(cp.Calls), -1)
	}
	if err == nil && len(cp.Calls) > 0 {
		cp.Recordings, err = s.callRecordings(r, cp.Calls)
	}
	if err != nil && status == http.StatusOK {
		s.fail(w, r, err)
		return
	}
	groups, err := s.store.Groups(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cp.Groups = groupTree(groups)
	p := s.page(r, "calls.title")
	p.Data = cp
	s.render(w, r, status, "calls.html", p)
}

// callCSV exports the filtered history, at most csvMax rows, page by page.
func (s *Server) callCSV(w http.ResponseWriter, r *http.Request) {
	const csvMax = 100_000
	loc := s.location(r)
	f, err := callFilter(r.URL.Query(), subject(r), loc)
	var first []directory.Call
	if err == nil {
		f.Page = directory.Page{Number: 1, Size: 500}
		first, err = s.store.Calls(r.Context(), f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="calls.csv"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "started_at", "answered_at", "ended_at", "direction", "from", "to", "dialed",
		"disposition", "duration_seconds", "reason", "hangup_by", "node", "queue", "queue_wait_seconds", "queue_abandoned"})
	rows, calls := 0, first
	for len(calls) > 0 && rows < csvMax {
		for _, c := range calls {
			_ = cw.Write([]string{itoa(c.ID), csvTime(c.StartedAt, loc), csvTime(c.AnsweredAt, loc), csvTime(c.EndedAt, loc),
				csvCell(string(c.Direction)), csvCell(c.From), csvCell(c.To), csvCell(c.Dialed), csvCell(string(c.Disposition)),
				strconv.FormatInt(int64(c.Duration()/time.Second), 10), csvCell(c.Reason), csvCell(c.HangupBy), csvCell(c.Node),
				csvCell(c.Queue), queueWaitCell(c), queueAbandonedCell(c)})
		}
		rows += len(calls)
		if len(calls) < f.Page.Size {
			break
		}
		f.Page.Number++
		ctx, cancel := s.moreTime(r) // each page has the deadline of one request
		calls, err = s.store.Calls(ctx, f)
		cancel()
		if err != nil {
			s.log.Error("csv export cut short", "err", err)
			break
		}
	}
	cw.Flush()
	ctx, cancel := s.moreTime(r)
	defer cancel()
	s.audit(r.WithContext(ctx), viewerOf(r), "calls.export", "calls", strconv.Itoa(rows)+" rows")
}

// csvTime writes a time in the viewer's zone with its offset, such as
// 2025-03-14T11:00:00+01:00, which spreadsheets and scripts both read.
func csvTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

// csvCell keeps a spreadsheet from reading text as a formula (OWASP CSV
// injection): a cell starting with =, +, -, @, tab or carriage return gets a
// leading apostrophe. The one exception is a phone number in E.164 form, a
// + and digits only, which a spreadsheet reads as a number, not a formula.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r', '-':
		return "'" + s
	case '+':
		if len(s) == 1 || strings.TrimLeft(s[1:], "0123456789") != "" {
			return "'" + s
		}
	}
	return s
}

// queueWaitCell and queueAbandonedCell are the call queue columns of the
// CSV export; empty for calls that waited in no queue.
func queueWaitCell(c directory.Call) string {
	if c.Queue == "" {
		return ""
	}
	return strconv.FormatInt(int64(c.QueueWait/time.Second), 10)
}

func queueAbandonedCell(c directory.Call) string {
	if c.Queue == "" {
		return ""
	}
	return strconv.FormatBool(queueAbandoned(&c))
}
