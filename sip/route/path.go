package route

import (
	"cmp"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// A binding's Path (RFC 3327), as the registrar stored it: the route to
// its contact.

// pathHop is host:port of the first entry of a stored Path: where requests
// to the contact go (RFC 3327 §5.3: the Path is their Route set).
func pathHop(path []string) (string, bool) {
	if len(path) == 0 {
		return "", false
	}
	v := path[0]
	end := strings.IndexByte(v, '>')
	if !strings.HasPrefix(v, "<") || end < 0 {
		return "", false
	}
	var uri sip.Uri
	if err := sip.ParseUri(v[1:end], &uri); err != nil || uri.Host == "" {
		return "", false
	}
	return wire.HostPort(uri.Host, cmp.Or(uri.Port, 5060)), true
}

// splitPath splits a Binding.Path back into its entries.
func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ",")
}
