package directory

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Office hours are written the way people say them, one line (or
// ;-separated part) per set of days:
//
//	mon-fri 08:00-12:00, 13:00-17:00
//	sat 09:00-13:00
//	fri 22:00-06:00        (spans midnight: Friday 22:00 to Saturday 06:00)
//
// Days are mon tue wed thu fri sat sun, alone, in ranges (fri-mon wraps)
// or in comma lists; times are HH:MM on the wall clock of the schedule's
// zone, 24:00 only as an end. An interval whose end is not after its start
// runs past midnight into the next day. No line at all is closed always.
//
// Holidays are dates, closed all day: 2026-12-24 once, or 12-25 every
// year, separated by commas, spaces or new lines.

// Limits that keep a schedule a thing a person reads.
const (
	maxHoursLines = 50
	maxIntervals  = 20 // per line
	maxHolidays   = 500
)

// span is an interval of one day's wall clock in minutes, [from, to);
// to > 24*60 runs into the next day.
type span struct{ from, to int }

// Week holds the intervals of each weekday (time.Sunday = 0), each day's
// sorted by start.
type Week [7][]span

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseHours reads a weekly spec (see above). Mistakes are *InvalidError
// on field hours naming the line.
func ParseHours(spec string) (Week, error) {
	var w Week
	lines := strings.FieldsFunc(spec, func(r rune) bool { return r == '\n' || r == ';' || r == '\r' })
	n := 0
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if n++; n > maxHoursLines {
			return Week{}, invalid("hours", fmt.Sprintf("at most %d lines", maxHoursLines))
		}
		// The days run up to the first digit: "mon, wed 08:00-12:00" and
		// "Mon - Fri 8:00-17:00" read as people mean them.
		cut := strings.IndexAny(line, "0123456789")
		if cut <= 0 {
			return Week{}, invalid("hours", strconv.Quote(line)+": want days then times, such as mon-fri 08:00-17:00")
		}
		days := strings.Join(strings.Fields(line[:cut]), "")
		times := line[cut:]
		ds, err := parseDays(days)
		if err != nil {
			return Week{}, invalid("hours", strconv.Quote(line)+": "+err.Error())
		}
		parts := strings.Split(times, ",")
		if len(parts) > maxIntervals {
			return Week{}, invalid("hours", strconv.Quote(line)+fmt.Sprintf(": at most %d intervals", maxIntervals))
		}
		for _, p := range parts {
			sp, err := parseSpan(strings.TrimSpace(p))
			if err != nil {
				return Week{}, invalid("hours", strconv.Quote(line)+": "+err.Error())
			}
			for _, d := range ds {
				w[d] = append(w[d], sp)
			}
		}
	}
	for d := range w {
		w[d] = mergeSpans(w[d])
	}
	return w, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, part := range strings.Split(strings.ToLower(s), ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, ok := dayIndex(a)
		if !ok {
			return nil, fmt.Errorf("unknown day %q (mon, tue, wed, thu, fri, sat, sun)", a)
		}
		to := from
		if isRange {
			if to, ok = dayIndex(b); !ok {
				return nil, fmt.Errorf("unknown day %q (mon, tue, wed, thu, fri, sat, sun)", b)
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
			if d == to {
				break
			}
		}
	}
	return out, nil
}

func dayIndex(s string) (time.Weekday, bool) {
	s = strings.TrimSpace(s)
	for i, n := range dayNames {
		if s == n {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// parseSpan reads HH:MM-HH:MM; an end not after the start is on the next day.
func parseSpan(s string) (span, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("%q: want a time range such as 08:00-17:00", s)
	}
	from, err := parseClock(strings.TrimSpace(a), false)
	if err != nil {
		return span{}, err
	}
	to, err := parseClock(strings.TrimSpace(b), true)
	if err != nil {
		return span{}, err
	}
	if to == from {
		return span{}, fmt.Errorf("%q: start and end are the same", s)
	}
	if to < from {
		to += 24 * 60
	}
	return span{from, to}, nil
}

func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q: want a time such as 08:00", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) || h[0] == '+' {
		return 0, fmt.Errorf("%q: want a time from 00:00 to 24:00", s)
	}
	if hh == 24 && !end {
		return 0, fmt.Errorf("%q: 24:00 can only end an interval", s)
	}
	return hh*60 + mm, nil
}

// mergeSpans sorts a day's intervals and joins those that overlap or touch.
func mergeSpans(in []span) []span {
	if len(in) == 0 {
		return nil
	}
	slices.SortFunc(in, func(a, b span) int { return a.from - b.from })
	out := []span{in[0]}
	for _, sp := range in[1:] {
		last := &out[len(out)-1]
		if sp.from <= last.to {
			last.to = max(last.to, sp.to)
			continue
		}
		out = append(out, sp)
	}
	for i := range out {
		// At most a whole day from the start, and a minute short of it
		// when that is not midnight: 08:00-08:00 would read as nothing.
		if out[i].from > 0 {
			out[i].to = min(out[i].to, out[i].from+24*60-1)
		} else {
			out[i].to = min(out[i].to, 24*60)
		}
	}
	return out
}

// String writes w back in the spec's syntax, days with the same intervals
// joined into ranges, Monday first.
func (w Week) String() string {
	order := []time.Weekday{1, 2, 3, 4, 5, 6, 0}
	var lines []string
	for i := 0; i < len(order); {
		d := order[i]
		j := i
		for j+1 < len(order) && slices.Equal(w[order[j+1]], w[d]) {
			j++
		}
		if len(w[d]) > 0 {
			days := dayNames[d]
			if j > i {
				days += "-" + dayNames[order[j]]
			}
			var ts []string
			for _, sp := range w[d] {
				ts = append(ts, clock(sp.from)+"-"+clock(sp.to%(24*60)+boolInt(sp.to == 24*60)*24*60))
			}
			lines = append(lines, days+" "+strings.Join(ts, ", "))
		}
		i = j + 1
	}
	return strings.Join(lines, "; ")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// Holidays are the days a schedule is closed: dates, and month-days that
// recur every year.
type Holidays struct {
	dates  map[string]bool // 2006-01-02
	yearly map[string]bool // 01-02
}

// ParseHolidays reads dates (2026-12-24) and yearly days (12-25).
func ParseHolidays(spec string) (Holidays, error) {
	h := Holidays{dates: map[string]bool{}, yearly: map[string]bool{}}
	fields := strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	if len(fields) > maxHolidays {
		return Holidays{}, invalid("holidays", fmt.Sprintf("at most %d dates", maxHolidays))
	}
	for _, f := range fields {
		switch len(f) {
		case 10:
			t, err := time.Parse(time.DateOnly, f)
			if err != nil {
				return Holidays{}, invalid("holidays", strconv.Quote(f)+": want a date such as 2026-12-24 or 12-25 for every year")
			}
			h.dates[t.Format(time.DateOnly)] = true
		case 5:
			// 2000 is a leap year, so 02-29 is a day that recurs.
			t, err := time.Parse(time.DateOnly, "2000-"+f)
			if err != nil {
				return Holidays{}, invalid("holidays", strconv.Quote(f)+": want a date such as 2026-12-24 or 12-25 for every year")
			}
			h.yearly[t.Format("01-02")] = true
		default:
			return Holidays{}, invalid("holidays", strconv.Quote(f)+": want a date such as 2026-12-24 or 12-25 for every year")
		}
	}
	return h, nil
}

// String lists the holidays sorted, yearly ones first.
func (h Holidays) String() string {
	y := slices.Sorted(maps.Keys(h.yearly))
	d := slices.Sorted(maps.Keys(h.dates))
	return strings.Join(append(y, d...), ", ")
}

// closed reports whether the local calendar day of t is a holiday.
func (h Holidays) closed(t time.Time) bool {
	if len(h.dates) == 0 && len(h.yearly) == 0 {
		return false
	}
	return h.dates[t.Format(time.DateOnly)] || h.yearly[t.Format("01-02")]
}

// OfficeHours is a schedule ready to answer Open: its zone, week and
// holidays parsed. It is read-only and safe for concurrent use.
type OfficeHours struct {
	loc      *time.Location
	week     Week
	holidays Holidays
}

// Open reports whether the schedule is open at the instant at. It reads
// at on the wall clock of the schedule's zone, so 08:00 is 08:00 local in
// winter and in summer; on the day clocks go forward a time that does not
// exist is never reached, and on the day they go back an hour that happens
// twice is open or closed both times. A moment is open when it lies in an
// interval of its own day, or in one that began the day before and runs
// past midnight, and neither the day it is on nor the day that interval
// began is a holiday (a holiday is closed all day, and a night shift that
// would start on it does not start).
func (o *OfficeHours) Open(at time.Time) bool {
	if o == nil {
		return true
	}
	t := at.In(o.loc)
	if o.holidays.closed(t) {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	for _, sp := range o.week[t.Weekday()] {
		if m >= sp.from && m < sp.to {
			return true
		}
	}
	y := time.Date(t.Year(), t.Month(), t.Day()-1, 12, 0, 0, 0, o.loc)
	for _, sp := range o.week[y.Weekday()] {
		if sp.to > 24*60 && m+24*60 < sp.to && !o.holidays.closed(y) {
			return true
		}
	}
	return false
}
