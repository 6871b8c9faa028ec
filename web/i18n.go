package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

//go:embed locales/*.json
var localeFS embed.FS

// languages the UI ships, the first being the default.
var languages = []string{"en", "vi", "pl"}

// catalogs maps a language to its flat message catalog ("users.title").
type catalogs map[string]map[string]string

func loadCatalogs() (catalogs, error) {
	c := make(catalogs)
	for _, lang := range languages {
		b, err := localeFS.ReadFile("locales/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("locale %s: %w", lang, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("locale %s: %w", lang, err)
		}
		// Areas may keep their messages in files of their own,
		// locales/LANG.AREA.json; a key is defined once.
		more, _ := fs.Glob(localeFS, "locales/"+lang+".*.json")
		for _, name := range more {
			b, err := localeFS.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("locale %s: %w", name, err)
			}
			var part map[string]string
			if err := json.Unmarshal(b, &part); err != nil {
				return nil, fmt.Errorf("locale %s: %w", name, err)
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("locale %s: key %q is defined twice", name, k)
				}
				m[k] = v
			}
		}
		c[lang] = m
	}
	return c, nil
}

// translate returns the message key in lang, then in English, then the key
// itself (the locale test keeps that last case from shipping).
func (c catalogs) translate(lang, key string, args ...any) string {
	msg, ok := c[lang][key]
	if !ok {
		if msg, ok = c["en"][key]; !ok {
			msg = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// pickLanguage is the user's choice, else the first supported language in
// Accept-Language, else English.
func pickLanguage(userLang, accept string) string {
	if userLang != "" {
		return userLang
	}
	for _, part := range strings.Split(accept, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		for _, l := range languages {
			if base == l {
				return l
			}
		}
	}
	return "en"
}

// formatTime writes a time the way people of lang read it, in the time
// zone loc (UTC when nil).
func formatTime(lang string, t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	switch lang {
	case "vi":
		return t.Format("02/01/2006 15:04")
	case "pl":
		return t.Format("02.01.2006 15:04")
	}
	return t.Format("Jan 2, 2006 15:04")
}

// formatNumber groups thousands as lang does: 1,234 (en), 1.234 (vi),
// 1 234 (pl, with a no-break space).
func formatNumber(lang string, n int64) string {
	sep := ","
	switch lang {
	case "vi":
		sep = "."
	case "pl":
		sep = "\u00a0"
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatDuration writes a talk time as h:mm:ss or m:ss.
func formatDuration(d time.Duration) string {
	sec := int64(d.Round(time.Second) / time.Second)
	h, m, s := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
