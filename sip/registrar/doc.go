// Package registrar is the SIP registrar (RFC 3261 §10.3, Path of RFC
// 3327): it checks a REGISTER's syntax, has it authenticated by the
// digest check (sip/auth), and applies its contacts to the location
// service (sip/location), bounding their expiry and the devices of an
// extension, and answers with the bindings in force. It answers over
// sipgo's transactions and over the REGISTER transactions served outside
// sipgo (wire.Transaction) alike.
//
// It knows nothing of the edge's admission checks, which its caller makes
// before handing it a request, nor of calls.
package registrar
