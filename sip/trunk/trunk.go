package trunk

import (
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Trunk is a SIP trunk to a carrier.
type Trunk struct {
	Name      string
	Host      string // IP address or host name of the carrier's proxy
	Port      int    // default 5060
	Transport string // "UDP" (default), "TCP" or "TLS"
	// Username and Password answer the carrier's digest challenges; with
	// Register the PBX also registers to it.
	Username string
	Password directory.Password
	Register bool
	// CallerID is the company number on this trunk (E.164), sent when the
	// caller has none.
	CallerID string
	// FromUser, PAI, Privacy and Diversion choose the caller identity the
	// carrier gets (directory.TrunkSetting); the call side applies them.
	FromUser, PAI, Privacy, Diversion string
	// Prefixes are the E.164 prefixes of the numbers the trunk serves;
	// none: every number (directory.TrunkSetting.Prefixes).
	Prefixes []string
}

// Addr returns host:port of the trunk (default port 5060, 5061 over TLS).
func (t *Trunk) Addr() string {
	port := t.Port
	if port == 0 {
		port = 5060
		if t.Proto() == "TLS" {
			port = 5061
		}
	}
	host := t.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// Proto returns the transport of the trunk in upper case, UDP when unset.
func (t *Trunk) Proto() string {
	if t.Transport == "" {
		return "UDP"
	}
	return strings.ToUpper(t.Transport)
}

// Label names a trunk in logs and states: its name, or host:port when it
// has none.
func (t *Trunk) Label() string {
	if t.Name != "" {
		return t.Name
	}
	return t.Addr()
}

// LogValue keeps the password out of logs.
func (t Trunk) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", t.Name), slog.String("host", t.Addr()))
}

// same compares every field of two trunks (a Trunk holds a slice, so ==
// does not compile).
func same(a, b *Trunk) bool {
	return a.Name == b.Name && a.Host == b.Host && a.Port == b.Port && a.Transport == b.Transport &&
		a.Username == b.Username && a.Password == b.Password && a.Register == b.Register &&
		a.CallerID == b.CallerID && slices.Equal(a.Prefixes, b.Prefixes) && a.FromUser == b.FromUser &&
		a.PAI == b.PAI && a.Privacy == b.Privacy && a.Diversion == b.Diversion
}
