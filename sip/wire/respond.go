package wire

import (
	"log/slog"

	"github.com/emiago/sipgo/sip"
)

// Responder makes and sends responses through sipgo's transactions, each
// with our Server header. The server and the parts that answer requests
// of their own (subscriptions) hold one.
type Responder struct {
	Agent string // the Server header
	Log   *slog.Logger
}

// Response returns the response code/reason to req, with our Server header.
func (rp Responder) Response(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sip.NewHeader("Server", rp.Agent))
	return res
}

// Respond answers req on tx with code and reason.
func (rp Responder) Respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string) {
	rp.Send(tx, rp.Response(req, code, reason))
}

// Send sends res on tx; a response the transaction no longer takes is
// logged at debug level and dropped.
func (rp Responder) Send(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		rp.Log.Debug("sip response not sent", "code", res.StatusCode, "err", err)
	}
}
