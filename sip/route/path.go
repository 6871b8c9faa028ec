package route

import (
	"cmp"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
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
	return hostPort(uri.Host, cmp.Or(uri.Port, 5060)), true
}

// splitPath splits a Binding.Path back into its entries.
func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ",")
}

// hostPort is host:port, with an IPv6 host in brackets.
func hostPort(host string, port int) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}
