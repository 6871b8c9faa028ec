package sip

import (
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/leg"
)

// What package sip makes of dialogs (leg.Dialog): ours for an INVITE we
// answer, and the helpers that read the requests of one.

// tag returns the tag parameter of a From or To header.
func tag(p sip.HeaderParams) string {
	v, _ := p.Get("tag")
	return v
}

// unescapeUser turns the escaped stars of a dialed user part back.
func unescapeUser(u string) string {
	return strings.ReplaceAll(strings.ReplaceAll(u, "%2A", "*"), "%2a", "*")
}

// hopLimit returns the Max-Forwards of a request, 70 when absent.
func hopLimit(req *sip.Request) uint32 {
	if mf := req.MaxForwards(); mf != nil {
		return mf.Val()
	}
	return 70
}

func itoa(n int) string { return strconv.Itoa(n) }

// byeTimeout bounds a BYE or CANCEL we send at the end of a call.
const byeTimeout = 4 * time.Second

// uasDialog is our side of the dialog that req, an INVITE we answer, sets
// up: req already carries our To-tag; its requests go to the Contact, sent
// back to where req came from, and our Contact faces that source.
func (b *b2bua) uasDialog(req *sip.Request) leg.Dialog {
	src := req.Source()
	return leg.Dialog{CallID: req.CallID().Value(), LocalURI: req.To().Address, LocalTag: tag(req.To().Params),
		RemoteURI: req.From().Address, RemoteTag: tag(req.From().Params), Target: req.Contact().Address,
		Dest: src, Transport: req.Transport(), Contact: b.contactFor(src, req.Transport())}
}
