package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// recordingFilter reads the filters of the recordings page and of GET
// /api/v1/recordings: those of the call history (from and to as days in
// the viewer's time zone loc or RFC 3339 times, user or user_id, group or
// group_id, number), call_id, direction, min_duration and max_duration
// (seconds, or minutes:seconds) and sort (newest, oldest, longest,
// shortest). Bad values are invalid, not ignored. Visibility is the wider
// of recordings.listen and recordings.download.
func recordingFilter(q url.Values, subj *authz.Subject, loc *time.Location) (directory.RecordingFilter, error) {
	cf, err := callFilter(q, subj, loc)
	f := directory.RecordingFilter{From: cf.From, To: cf.To, UserID: cf.UserID, GroupID: cf.GroupID, Number: cf.Number,
		Vis: recordingVisibility(subj)}
	bad := func(field, rule string) {
		if err == nil {
			err = &directory.InvalidError{Field: field, Rule: rule}
		}
	}
	if v := q.Get("call_id"); v != "" {
		if f.CallID, _ = strconv.ParseInt(v, 10, 64); f.CallID <= 0 {
			bad("call_id", "must be an ID")
		}
	}
	switch d := directory.Direction(q.Get("direction")); d {
	case "", directory.Internal, directory.Outbound, directory.Inbound:
		f.Direction = d
	default:
		bad("direction", "must be internal, outbound or inbound")
	}
	for _, b := range []struct {
		field string
		dst   *time.Duration
	}{{"min_duration", &f.MinDuration}, {"max_duration", &f.MaxDuration}} {
		if v := strings.TrimSpace(q.Get(b.field)); v != "" {
			d, ok := parseSeconds(v)
			if !ok {
				bad(b.field, "must be seconds (90) or minutes:seconds (1:30)")
			}
			*b.dst = d
		}
	}
	if f.MinDuration > 0 && f.MaxDuration > 0 && f.MaxDuration < f.MinDuration {
		bad("max_duration", "must not be below min_duration")
	}
	f.Sort = directory.RecordingSort(q.Get("sort"))
	if !f.Sort.Valid() {
		bad("sort", "must be newest, oldest, longest or shortest")
	}
	return f, err
}

// parseSeconds reads "90" or "1:30" as a duration.
func parseSeconds(v string) (time.Duration, bool) {
	m, sec, colon := strings.Cut(v, ":")
	if !colon {
		m, sec = "0", v
	}
	mm, err1 := strconv.Atoi(m)
	ss, err2 := strconv.Atoi(sec)
	if err1 != nil || err2 != nil || mm < 0 || ss < 0 || (colon && ss > 59) || mm > 100_000 || ss > 10_000_000 {
		return 0, false
	}
	return time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second, true
}

// nameCache finds user names by ID, once each, for the names shown next
// to extension numbers; a user that cannot be read has no name.
type nameCache struct {
	s *Server
	m map[int64]string
}

func (s *Server) names() *nameCache { return &nameCache{s: s, m: map[int64]string{}} }

func (n *nameCache) of(ctx context.Context, id int64) string {
	if id == 0 {
		return ""
	}
	if v, ok := n.m[id]; ok {
		return v
	}
	name := ""
	if u, err := n.s.store.User(ctx, id); err == nil {
		name = u.Name
	}
	n.m[id] = name
	return name
}

// Day is t's date in the viewer's time zone, as the date filters take it.
func (p *page) Day(t time.Time) string { return t.In(p.loc).Format("2006-01-02") }

// callRecordings finds, in one query, the recordings of calls that the
// viewer may play or download: the call history links each to its own.
func (s *Server) callRecordings(r *http.Request, calls []directory.Call) (map[int64]int64, error) {
	ids := make([]int64, len(calls))
	for i, c := range calls {
		ids[i] = c.ID
	}
	recs, err := s.store.Recordings(r.Context(), directory.RecordingFilter{CallIDs: ids, Vis: recordingVisibility(subject(r)),
		Page: directory.Page{Size: 500}})
	if err != nil {
		return nil, err
	}
	m := make(map[int64]int64, len(recs))
	for _, rec := range recs {
		if _, ok := m[rec.CallID]; !ok {
			m[rec.CallID] = rec.ID
		}
	}
	return m, nil
}

// recordingCallJSON is what GET /api/v1/recordings tells of a recording's
// call, so a recording is found without a second request.
type recordingCallJSON struct {
	StartedAt  *time.Time `json:"started_at,omitempty"`
	From       string     `json:"from,omitempty"`
	To         string     `json:"to,omitempty"`
	CallerName string     `json:"caller_name,omitempty"`
	CalleeName string     `json:"callee_name,omitempty"`
	Direction  string     `json:"direction,omitempty"`
}

func (j *recordingJSON) addCall(ctx context.Context, s *Server, names *nameCache) {
	c, err := s.store.Call(ctx, j.CallID)
	if err != nil {
		return
	}
	t := c.StartedAt
	j.recordingCallJSON = recordingCallJSON{StartedAt: &t, From: c.From, To: c.To, Direction: string(c.Direction),
		CallerName: names.of(ctx, c.CallerID), CalleeName: names.of(ctx, c.CalleeID)}
}
