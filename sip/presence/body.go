package presence

import (
	"encoding/xml"
	"hash/fnv"
	"strconv"
	"strings"
)

// Package is a SIP event package we serve.
type Package uint8

const (
	DialogPackage   Package = iota + 1 // RFC 4235, busy lamps
	PresencePackage                    // RFC 3856/3863
)

// ParsePackage reads an Event header value ("dialog;id=1" → dialog). The
// event type is a token compared without case; ok is false for packages
// we do not serve.
func ParsePackage(event string) (Package, bool) {
	name, _, _ := strings.Cut(event, ";")
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "dialog":
		return DialogPackage, true
	case "presence":
		return PresencePackage, true
	}
	return 0, false
}

// String returns the package's Event name.
func (p Package) String() string {
	switch p {
	case DialogPackage:
		return "dialog"
	case PresencePackage:
		return "presence"
	}
	return ""
}

// ContentType is the body type of the package's NOTIFYs.
func (p Package) ContentType() string {
	if p == DialogPackage {
		return "application/dialog-info+xml"
	}
	return "application/pidf+xml"
}

// Allowed is the Allow-Events value: the packages we serve.
const Allowed = "dialog, presence"

func esc(b *strings.Builder, s string) {
	xml.EscapeText(b, []byte(s)) // writes to a strings.Builder cannot fail
}

func uri(b *strings.Builder, user, domain string) {
	b.WriteString("sip:")
	esc(b, user)
	b.WriteByte('@')
	esc(b, domain)
}

// dialogID is the id attribute of a leg's dialog element: a digest of
// its Call-ID, so the Call-ID itself is shown only with call information.
func dialogID(legID string) string {
	h := fnv.New64a()
	h.Write([]byte(legID))
	return strconv.FormatUint(h.Sum64(), 36)
}

// DialogInfo renders a full dialog-info document (RFC 4235) for entity
// with the legs of views; ended are legs over since the last document,
// shown once as terminated.
func DialogInfo(entity, domain string, version uint32, views []View, ended []Leg) []byte {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="`)
	b.WriteString(strconv.FormatUint(uint64(version), 10))
	b.WriteString(`" state="full" entity="`)
	uri(&b, entity, domain)
	b.WriteString("\">\n")
	for _, v := range views {
		for _, l := range v.Legs {
			st := "early"
			if l.State == LegAnswered {
				st = "confirmed"
			}
			dialogElem(&b, l, st, domain)
		}
	}
	for _, l := range ended {
		dialogElem(&b, l, "terminated", domain)
	}
	b.WriteString("</dialog-info>\n")
	return []byte(b.String())
}

func dialogElem(b *strings.Builder, l Leg, state, domain string) {
	b.WriteString(`<dialog id="`)
	b.WriteString(dialogID(l.ID))
	b.WriteByte('"')
	if l.Peer != "" || l.PeerName != "" {
		// Call information is shared: the phone's dialog too (what a
		// phone puts in Replaces to pick the call up).
		b.WriteString(` call-id="`)
		esc(b, l.ID)
		b.WriteByte('"')
	}
	if l.Initiator {
		b.WriteString(` direction="initiator">`)
	} else {
		b.WriteString(` direction="recipient">`)
	}
	b.WriteString("<state>")
	b.WriteString(state)
	b.WriteString("</state>")
	if l.Peer != "" || l.PeerName != "" {
		b.WriteString("<remote><identity")
		if l.PeerName != "" {
			b.WriteString(` display="`)
			esc(b, l.PeerName)
			b.WriteByte('"')
		}
		b.WriteByte('>')
		if l.Peer != "" {
			uri(b, l.Peer, domain)
		}
		b.WriteString("</identity></remote>")
	}
	b.WriteString("</dialog>\n")
}

// notes are the human words of each status in a PIDF note.
var notes = [...]string{Offline: "Offline", Available: "Available", DND: "Do not disturb", Ringing: "Ringing", OnCall: "On the phone"}

// PIDF renders a presence document (RFC 3863, with the RPID activities of
// RFC 4480) for entity in status st: closed when offline; open otherwise,
// with on-the-phone for a call and busy for do not disturb.
func PIDF(entity, domain string, st Status) []byte {
	var b strings.Builder
	b.Grow(512)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="`)
	uri(&b, entity, domain)
	b.WriteString("\">\n<tuple id=\"t")
	esc(&b, entity)
	b.WriteString("\"><status><basic>")
	if st == Offline {
		b.WriteString("closed")
	} else {
		b.WriteString("open")
	}
	b.WriteString("</basic></status></tuple>\n")
	b.WriteString(`<dm:person id="p`)
	esc(&b, entity)
	b.WriteString(`">`)
	switch st {
	case OnCall, Ringing:
		b.WriteString("<rpid:activities><rpid:on-the-phone/></rpid:activities>")
	case DND:
		b.WriteString("<rpid:activities><rpid:busy/></rpid:activities>")
	case Offline:
		b.WriteString("<rpid:activities><rpid:away/></rpid:activities>")
	}
	b.WriteString("<dm:note>")
	if int(st) < len(notes) {
		b.WriteString(notes[st])
	}
	b.WriteString("</dm:note></dm:person>\n<note>")
	if int(st) < len(notes) {
		b.WriteString(notes[st])
	}
	b.WriteString("</note>\n</presence>\n")
	return []byte(b.String())
}
