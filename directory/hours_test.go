package directory_test

import (
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestOfficeHoursOpen(t *testing.T) {
	warsaw, _ := time.LoadLocation("Europe/Warsaw")
	hcm, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	at := func(loc *time.Location, y int, mo time.Month, d, h, m int) time.Time {
		return time.Date(y, mo, d, h, m, 0, 0, loc)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	office := directory.Schedule{TimeZone: "Europe/Warsaw", Hours: "mon-fri 08:00-17:00; sat 09:00-13:00",
		Holidays: "2026-11-11, 12-25"}
	night := directory.Schedule{TimeZone: "Europe/Warsaw", Hours: "fri 22:00-06:00; sun 01:00-03:00, 23:00-24:00"}
	saigon := directory.Schedule{TimeZone: "Asia/Ho_Chi_Minh", Hours: "mon-fri 08:00-17:00"}
	closed := office
	closed.Closed = true
	cases := []struct {
		name string
		s    directory.Schedule
		at   time.Time
		want bool
	}{
		{"weekday morning", office, at(warsaw, 2026, 12, 9, 8, 0), true},
		{"start is open", office, at(warsaw, 2026, 12, 9, 8, 0), true},
		{"end is closed", office, at(warsaw, 2026, 12, 9, 17, 0), false},
		{"a minute before the end", office, at(warsaw, 2026, 12, 9, 16, 59), true},
		{"before opening", office, at(warsaw, 2026, 12, 9, 7, 59), false},
		{"saturday's own hours", office, at(warsaw, 2026, 12, 12, 12, 0), true},
		{"saturday afternoon", office, at(warsaw, 2026, 12, 12, 14, 0), false},
		{"sunday", office, at(warsaw, 2026, 12, 13, 10, 0), false},
		{"a dated holiday on a wednesday", office, at(warsaw, 2026, 11, 11, 10, 0), false},
		{"a yearly holiday (friday 2026-12-25)", office, at(warsaw, 2026, 12, 25, 10, 0), false},
		{"the yearly holiday recurs (monday 2028-12-25)", office, at(warsaw, 2028, 12, 25, 10, 0), false},
		{"the day after the holiday", office, at(warsaw, 2026, 11, 12, 10, 0), true},
		{"closed all the time", closed, at(warsaw, 2026, 12, 9, 10, 0), false},
		// The zone is the schedule's, not the caller's: 08:30 in Warsaw
		// is 07:30 UTC in winter and 06:30 UTC in summer.
		{"winter: 07:30 UTC is 08:30 in Warsaw", office, utc("2026-12-09T07:30:00Z"), true},
		{"winter: 06:30 UTC is 07:30 in Warsaw", office, utc("2026-12-09T06:30:00Z"), false},
		{"summer: 06:30 UTC is 08:30 in Warsaw", office, utc("2026-07-08T06:30:00Z"), true},
		{"summer: 15:30 UTC is 17:30 in Warsaw", office, utc("2026-07-08T15:30:00Z"), false},
		// Warsaw: 2026-03-29 02:00 CET becomes 03:00 CEST (a Sunday);
		// 2026-10-25 03:00 CEST becomes 02:00 CET.
		{"spring forward: 00:59 UTC is 01:59 CET, open", night, utc("2026-03-29T00:59:00Z"), true},
		{"spring forward: 01:00 UTC is 03:00 CEST, closed", night, utc("2026-03-29T01:00:00Z"), false},
		{"fall back: 00:30 UTC is 02:30 CEST, open", night, utc("2026-10-25T00:30:00Z"), true},
		{"fall back: 01:30 UTC is 02:30 CET again, open", night, utc("2026-10-25T01:30:00Z"), true},
		{"fall back: 02:00 UTC is 03:00 CET, closed", night, utc("2026-10-25T02:00:00Z"), false},
		{"fall back day: office hours still start at 08:00 local (monday 07:00 UTC)", office, utc("2026-10-26T07:00:00Z"), true},
		{"fall back day: 06:30 UTC is 07:30 local, closed", office, utc("2026-10-26T06:30:00Z"), false},
		{"spring forward week: monday 06:00 UTC is 08:00 CEST, open", office, utc("2026-03-30T06:00:00Z"), true},
		// Ho Chi Minh City keeps UTC+7 all year: Warsaw's change days move nothing.
		{"saigon: 01:00 UTC is 08:00 local, open", saigon, utc("2026-03-30T01:00:00Z"), true},
		{"saigon: 00:59 UTC on Warsaw's spring day is 07:59 local, closed", saigon, utc("2026-03-30T00:59:00Z"), false},
		{"saigon: on Warsaw's autumn day the same UTC hour opens", saigon, utc("2026-10-26T01:00:00Z"), true},
		{"saigon: 10:00 UTC is 17:00 local, closed", saigon, utc("2026-10-26T10:00:00Z"), false},
		{"saigon local time given in another zone", saigon, at(hcm, 2026, 10, 26, 9, 0).In(warsaw), true},
		// Across midnight: Friday 22:00 to Saturday 06:00.
		{"night: friday 21:59", night, at(warsaw, 2026, 12, 11, 21, 59), false},
		{"night: friday 22:00", night, at(warsaw, 2026, 12, 11, 22, 0), true},
		{"night: friday 23:59", night, at(warsaw, 2026, 12, 11, 23, 59), true},
		{"night: saturday 00:00", night, at(warsaw, 2026, 12, 12, 0, 0), true},
		{"night: saturday 05:59", night, at(warsaw, 2026, 12, 12, 5, 59), true},
		{"night: saturday 06:00", night, at(warsaw, 2026, 12, 12, 6, 0), false},
		{"night: thursday into friday is not open", night, at(warsaw, 2026, 12, 11, 2, 0), false},
		{"24:00 ends the day: sunday 23:30", night, at(warsaw, 2026, 12, 13, 23, 30), true},
		{"24:00 ends the day: monday 00:00", night, at(warsaw, 2026, 12, 14, 0, 0), false},
	}
	for _, tc := range cases {
		oh, err := tc.s.Compile()
		if err != nil {
			t.Fatalf("%s: compile: %v", tc.name, err)
		}
		if got := oh.Open(tc.at); got != tc.want {
			t.Errorf("%s: Open(%s) = %v, want %v", tc.name, tc.at.Format(time.RFC3339), got, tc.want)
		}
	}
}

func TestOfficeHoursHolidayStopsTheNightShift(t *testing.T) {
	warsaw, _ := time.LoadLocation("Europe/Warsaw")
	s := directory.Schedule{TimeZone: "Europe/Warsaw", Hours: "mon-sun 22:00-06:00", Holidays: "2026-12-24"}
	oh, err := s.Compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"23rd 23:00: open", time.Date(2026, 12, 23, 23, 0, 0, 0, warsaw), true},
		{"24th 03:00: the holiday is closed all day", time.Date(2026, 12, 24, 3, 0, 0, 0, warsaw), false},
		{"24th 23:00: closed", time.Date(2026, 12, 24, 23, 0, 0, 0, warsaw), false},
		{"25th 03:00: the shift begun on the holiday does not run", time.Date(2026, 12, 25, 3, 0, 0, 0, warsaw), false},
		{"25th 23:00: open again", time.Date(2026, 12, 25, 23, 0, 0, 0, warsaw), true},
	} {
		if got := oh.Open(c.at); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func TestParseHoursCanonical(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"MON-FRI 08:00-17:00", "mon-fri 08:00-17:00"},
		{"mon 08:00-12:00, 13:00-17:00\ntue-fri 08:00-12:00,13:00-17:00", "mon-fri 08:00-12:00, 13:00-17:00"},
		{"mon 08:00-12:00; mon 11:00-14:00", "mon 08:00-14:00"},
		{"fri-mon 10:00-11:00", "mon 10:00-11:00; fri-sun 10:00-11:00"},
		{"sat,sun 0:00-24:00", "sat-sun 00:00-24:00"},
		{"fri 22:00-06:00", "fri 22:00-06:00"},
		{"Mon - Fri 8:00 - 17:00", "mon-fri 08:00-17:00"},
		{"mon, wed 08:00-12:00", "mon 08:00-12:00; wed 08:00-12:00"},
	} {
		w, err := directory.ParseHours(c.in)
		if err != nil {
			t.Errorf("ParseHours(%q): %v", c.in, err)
			continue
		}
		if got := w.String(); got != c.want {
			t.Errorf("ParseHours(%q).String() = %q, want %q", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"mon", "moon 08:00-09:00", "mon 8-17", "mon 08:00-08:00", "mon 24:00-01:00",
		"mon 08:60-09:00", "mon 25:00-26:00", "mon 08:00", "mon-xyz 08:00-09:00", "mon +8:00-09:00"} {
		if _, err := directory.ParseHours(bad); err == nil {
			t.Errorf("ParseHours(%q) accepted it", bad)
		}
	}
	for _, bad := range []string{"2026-13-01", "02-30", "tomorrow", "2026-1-1"} {
		if _, err := directory.ParseHolidays(bad); err == nil {
			t.Errorf("ParseHolidays(%q) accepted it", bad)
		}
	}
}

// FuzzParseHours: no input panics, and what ParseHours accepts it writes
// back in a form that reads the same.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"mon-fri 08:00-17:00", "fri 22:00-06:00; sat 0:00-24:00", "sun-sat 23:59-00:01",
		"mon 08:00-12:00, 11:00-13:00", "mon 08:00-08:01;mon 08:01-08:00", "tue-mon 1:00-2:00", ";;\n"} {
		f.Add(s, "2026-12-24, 12-25")
	}
	f.Fuzz(func(t *testing.T, spec, holidays string) {
		w, err := directory.ParseHours(spec)
		if err == nil {
			again, err := directory.ParseHours(w.String())
			if err != nil {
				t.Fatalf("ParseHours(%q) wrote %q, which does not parse: %v", spec, w.String(), err)
			}
			if again.String() != w.String() {
				t.Fatalf("round trip of %q: %q then %q", spec, w.String(), again.String())
			}
		}
		h, err := directory.ParseHolidays(holidays)
		if err == nil {
			again, err := directory.ParseHolidays(h.String())
			if err != nil || again.String() != h.String() {
				t.Fatalf("holidays %q: wrote %q, read back %q (%v)", holidays, h.String(), again.String(), err)
			}
		}
		s := directory.Schedule{TimeZone: "Europe/Warsaw", Hours: spec, Holidays: holidays}
		if oh, err := s.Compile(); err == nil {
			oh.Open(time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC))
		}
	})
}
