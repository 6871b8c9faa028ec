package leg

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// benchDialog is leg B of a call to a desk phone over UDP, its Contact
// with a parameter as most phones send.
var benchDialog = Dialog{CallID: "3848276298220188511@192.168.1.23",
	LocalURI: sip.Uri{Scheme: "sip", User: "10001", Host: "pbx.example.com"}, LocalTag: "as6f7a8d9e",
	RemoteURI: sip.Uri{Scheme: "sip", User: "10002", Host: "pbx.example.com"}, RemoteTag: "1928301774",
	Target: sip.Uri{Scheme: "sip", User: "10002", Host: "192.168.1.23", Port: 5060,
		UriParams: sip.HeaderParams{{K: "transport", V: "udp"}}},
	Dest: "192.168.1.23:5060", Transport: "UDP",
	Contact: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: "192.168.1.2", Port: 5060}},
	CSeq:    1}

// TestDialogRequest: an in-dialog request goes to the target with its own
// copy of the target's parameters.
func TestDialogRequest(t *testing.T) {
	d := benchDialog
	d.Target.UriParams = d.Target.UriParams.Clone()
	req := d.Request(sip.BYE)
	req.Recipient.UriParams[0].V = "tcp"
	if got := d.Target.UriParams[0].V; got != "udp" {
		t.Errorf("the dialog's target changed with its request's: transport=%s", got)
	}
	if req.CSeq().SeqNo != 2 || req.Destination() != d.Dest || req.Recipient.User != "10002" {
		t.Errorf("BYE: %s", req)
	}
}

// BenchmarkDialogRequest: the ACK of a 2xx and a BYE, built from the leg's
// dialog.
func BenchmarkDialogRequest(b *testing.B) {
	d := benchDialog
	b.ReportAllocs()
	for b.Loop() {
		_ = d.Request(sip.ACK)
		_ = d.Request(sip.BYE)
	}
}
