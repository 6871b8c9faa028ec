package directory

import (
	"context"
	"strings"
)

// NormalizeMobile turns a mobile number as people type it ("600 100 200",
// "+48 600-100-200", "0048600100200") into E.164, reading national numbers
// with defaultCountry, the way contacts' numbers are read (NormalizePhone).
// An empty number stays empty; one that cannot be read comes back as typed,
// for Validate to name.
func NormalizeMobile(raw, defaultCountry string) string {
	if raw == "" || IsE164(raw) {
		return raw
	}
	if n, err := NormalizePhone(raw, defaultCountry); err == nil {
		return n
	}
	return raw
}

// DefaultCountry is the numbers.default_country setting, or its default
// when the store has none.
func DefaultCountry(ctx context.Context, st SettingStore) (string, error) {
	cc, err := st.Setting(ctx, SettingDefaultCountry)
	if err != nil {
		return "", err
	}
	if cc == "" {
		cc = SettingDefaults[SettingDefaultCountry]
	}
	return cc, nil
}

// NormalizeMobile reads the patch's mobile number, if it sets one, with
// defaultCountry (see the function NormalizeMobile).
func (p *UserPatch) NormalizeMobile(defaultCountry string) {
	if p.Mobile != nil {
		m := NormalizeMobile(strings.TrimSpace(*p.Mobile), defaultCountry)
		p.Mobile = &m
	}
}
