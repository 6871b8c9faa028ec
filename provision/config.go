package provision

import (
	"bytes"
	"embed"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"

	"github.com/switchboard-pbx/switchboard/directory"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"x":  xmlText,
	"kv": oneLine,
}).ParseFS(templateFS, "templates/*.tmpl"))

// Account is what a configuration says: whose extension, with which
// password, registering where.
type Account struct {
	MAC          string // 12 lower-case hex digits, "" for softphones
	Label        string // the device's label, for the file's comment
	Extension    string
	Password     directory.Password
	DisplayName  string
	Domain       string // SIP domain and digest realm
	Host         string // where the registrar is reached; "" is Domain
	Port         int    // 0 is 5060 (5061 over TLS)
	Transport    string // udp, tcp or tls; "" is udp
	Language     string // en, vi, pl
	PhoneBookURL string
}

// File is one rendered file.
type File struct {
	Name        string
	ContentType string
	Body        []byte
}

// ErrNoFile is what Render says of a name that is not one of the files of
// the device: the web answers it as it answers an unknown device.
var ErrNoFile = errors.New("no such provisioning file")

// FileNames returns the names a device of vendor v with MAC mac fetches,
// the main one first.
func FileNames(v directory.Vendor, mac string) []string {
	switch v {
	case directory.Yealink:
		return []string{mac + ".cfg"}
	case directory.Grandstream:
		return []string{"cfg" + mac + ".xml"}
	case directory.Polycom:
		return []string{mac + ".cfg", mac + "-phone.cfg"}
	case directory.Snom:
		return []string{mac + ".xml"}
	case directory.Linphone:
		return []string{"linphone.xml"}
	}
	return nil
}

// Render writes the file name of a device of vendor v for a. The name is
// compared without case (phones ask for "001565ABCDEF.cfg" or
// "001565abcdef.cfg"); any name that is not one of FileNames is ErrNoFile.
func Render(v directory.Vendor, name string, a Account) (*File, error) {
	names := FileNames(v, a.MAC)
	tmpl, file := "", ""
	for i, n := range names {
		if strings.EqualFold(n, name) {
			tmpl, file = string(v)+map[bool]string{true: "-phone", false: ""}[i == 1], n
			break
		}
	}
	if tmpl == "" {
		return nil, ErrNoFile
	}
	ext := map[directory.Vendor]string{directory.Yealink: ".cfg", directory.Polycom: ".cfg"}[v]
	if ext == "" {
		ext = ".xml"
	}
	a = a.withDefaults()
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, tmpl+ext+".tmpl", view{a}); err != nil {
		return nil, fmt.Errorf("render %s configuration: %w", v, err)
	}
	ct := "application/xml; charset=utf-8"
	if v == directory.Yealink {
		ct = "text/plain; charset=utf-8"
	}
	return &File{Name: file, ContentType: ct, Body: buf.Bytes()}, nil
}

func (a Account) withDefaults() Account {
	a.Transport = strings.ToLower(a.Transport)
	if a.Transport == "" {
		a.Transport = "udp"
	}
	if a.Host == "" {
		a.Host = a.Domain
	}
	if a.Port == 0 {
		a.Port = 5060
		if a.Transport == "tls" {
			a.Port = 5061
		}
	}
	if a.DisplayName == "" {
		a.DisplayName = a.Extension
	}
	return a
}

// view is what the templates read: the account and its values in each
// vendor's vocabulary.
type view struct{ Account }

// OutboundProxy is set when the registrar is reached at a host other than
// the domain: phones then send to Host and register in Domain.
func (v view) OutboundProxy() bool { return !strings.EqualFold(v.Host, v.Domain) }

func (v view) Password() string { return string(v.Account.Password) }

func (v view) PhoneBookTitle() string { return "Switchboard" }

// YealinkTransport: 0 UDP, 1 TCP, 2 TLS.
func (v view) YealinkTransport() int { return map[string]int{"tcp": 1, "tls": 2}[v.Transport] }

// GrandstreamTransport (P130): 0 UDP, 1 TCP, 2 TLS.
func (v view) GrandstreamTransport() int { return v.YealinkTransport() }

// PolycomTransport: reg.x.server.y.transport.
func (v view) PolycomTransport() string {
	return map[string]string{"udp": "UDPOnly", "tcp": "TCPOnly", "tls": "TLS"}[v.Transport]
}

// SnomTransport is the URI parameter of user_host.
func (v view) SnomTransport() string {
	if v.Transport == "udp" {
		return ""
	}
	return ";transport=" + v.Transport
}

// YealinkLanguage is lang.gui, for the languages a Yealink phone has.
func (v view) YealinkLanguage() string {
	return map[string]string{"en": "English", "pl": "Polish"}[v.Language]
}

// ProxyURI is the SIP URI of the registrar, for Linphone.
func (v view) ProxyURI() string {
	return "<sip:" + v.Host + ":" + strconv.Itoa(v.Port) + ";transport=" + v.Transport + ">"
}

// Identity is the account's address of record, for Linphone.
func (v view) Identity() string {
	return `"` + strings.NewReplacer(`"`, "", `\`, "").Replace(v.DisplayName) + `" <sip:` + v.Extension + "@" + v.Domain + ">"
}

// xmlText escapes s for XML text and attribute values.
func xmlText(s any) (string, error) {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(fmt.Sprint(s))); err != nil {
		return "", err
	}
	return b.String(), nil
}

// oneLine keeps a value on its line of a key=value file: a newline in a
// name must not start a key of its own.
func oneLine(s any) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == 0 {
			return ' '
		}
		return r
	}, fmt.Sprint(s))
}
