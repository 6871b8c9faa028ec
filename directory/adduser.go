package directory

import (
	"context"
	"strings"
)

// AddUser reads n's mobile number with the default country (NormalizeMobile),
// validates n against policy, hashes its web password (argon2id) and
// its extension password (digest HA1 for the current SIP domain), and
// stores the user. The plain passwords go no further.
func AddUser(ctx context.Context, st Store, n NewUser, policy PasswordPolicy) (*User, error) {
	if n.Mobile != "" {
		cc, err := DefaultCountry(ctx, st)
		if err != nil {
			return nil, err
		}
		n.Mobile = NormalizeMobile(strings.TrimSpace(n.Mobile), cc)
	}
	if err := n.Validate(policy); err != nil {
		return nil, err
	}
	realm, err := st.Setting(ctx, SettingDomain)
	if err != nil {
		return nil, err
	}
	u := &User{Name: n.Name, Email: n.Email, Extension: n.Extension, Mobile: n.Mobile, CallerID: n.CallerID,
		HideNumber: n.HideNumber, Notes: n.Notes, Language: n.Language, State: UserActive, RoleIDs: n.RoleIDs, GroupIDs: n.GroupIDs,
		SIP: NewSIPSecret(n.Extension, realm, n.ExtPassword)}
	if n.Password != "" {
		if u.PasswordHash, err = HashPassword(n.Password); err != nil {
			return nil, err
		}
	}
	if err := st.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}
