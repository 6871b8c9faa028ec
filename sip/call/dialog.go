package call

import (
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// What the call core makes of dialogs (leg.Dialog): ours for an INVITE we
// answer, and the helpers that read the requests of one.

// UASDialog is our side of the dialog that req, an INVITE we answer, sets
// up: req already carries our To-tag; its requests go to the Contact, sent
// back to where req came from, and our Contact faces that source.
func (b *Core) UASDialog(req *sip.Request) leg.Dialog {
	src := req.Source()
	return leg.Dialog{CallID: req.CallID().Value(), LocalURI: req.To().Address, LocalTag: wire.Tag(req.To().Params),
		RemoteURI: req.From().Address, RemoteTag: wire.Tag(req.From().Params), Target: req.Contact().Address,
		Dest: src, Transport: req.Transport(), Contact: b.ContactFor(src, req.Transport())}
}
