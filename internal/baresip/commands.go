package baresip

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Commands to a running baresip over ctrl_tcp, and waiting for its events.

func (p *Phone) send(command, params, token string) error {
	msg, err := json.Marshal(map[string]string{"command": command, "params": params, "token": token})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.conn, "%d:%s,", len(msg), msg)
	return err
}

// Command sends a ctrl_tcp command (menu: dial, hangup, accept, uanew,
// uadel, reginfo, listcalls; debug_cmd: apistate, sipstat) and waits for
// its response.
func (p *Phone) Command(command, params string) (Response, error) {
	p.mu.Lock()
	p.next++
	tok := "t" + strconv.Itoa(p.next)
	ch := make(chan Response, 1)
	p.waiting[tok] = ch
	p.mu.Unlock()
	if err := p.send(command, params, tok); err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", p.name, command, err)
	}
	select {
	case res, ok := <-ch:
		if !ok {
			return Response{}, fmt.Errorf("%s %s: control connection closed", p.name, command)
		}
		if !res.OK {
			return res, fmt.Errorf("%s %s %q: refused: %s", p.name, command, params, strings.TrimSpace(res.Data))
		}
		return res, nil
	case <-p.t.Context().Done():
		return Response{}, fmt.Errorf("%s %s: %w", p.name, command, p.t.Context().Err())
	case <-p.exited:
		return Response{}, fmt.Errorf("%s %s: baresip exited", p.name, command)
	}
}

// Mark returns the number of events seen so far, for WaitEvent.
func (p *Phone) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// Events returns every event seen so far.
func (p *Phone) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// WaitEvent returns the first event from index from on (see Mark) that
// match accepts, waiting for it until ctx ends or baresip goes away.
func (p *Phone) WaitEvent(ctx context.Context, from int, match func(Event) bool) (Event, error) {
	for {
		p.mu.Lock()
		for i := from; i < len(p.events); i++ {
			if match(p.events[i]) {
				ev := p.events[i]
				p.mu.Unlock()
				return ev, nil
			}
		}
		from = len(p.events)
		changed, rerr := p.changed, p.readErr
		p.mu.Unlock()
		if rerr != nil {
			return Event{}, fmt.Errorf("%s: control connection: %w", p.name, rerr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("%s: waiting for an event: %w", p.name, ctx.Err())
		case <-p.exited:
			return Event{}, fmt.Errorf("%s: baresip exited", p.name)
		}
	}
}

// Register adds the account aor (for example
// "sip:10001@127.0.0.1:5060;transport=tcp") with its password and waits
// for the outcome: the REGISTER_OK or REGISTER_FAIL event, whose Code is
// the SIP status. A failed account is removed again, so that baresip does
// not keep retrying it.
func (p *Phone) Register(aor, password string) (Event, error) {
	mark := p.Mark()
	params := "<" + aor + ">;auth_pass=" + password + ";answermode=" + p.answerMode
	if p.mediaEnc != "" {
		params += ";mediaenc=" + p.mediaEnc
	}
	if _, err := p.Command("uanew", params); err != nil {
		return Event{}, err
	}
	key := aorKey(aor)
	ev, err := p.WaitEvent(p.t.Context(), mark, func(e Event) bool {
		return (e.Type == "REGISTER_OK" || e.Type == "REGISTER_FAIL") && aorKey(e.AccountAOR) == key
	})
	if err != nil {
		return ev, err
	}
	if ev.Type == "REGISTER_FAIL" {
		if _, err := p.Command("uadel", aorKey(aor)); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// Unregister removes the account, which un-REGISTERs it.
func (p *Phone) Unregister(aor string) error {
	_, err := p.Command("uadel", aorKey(aor))
	return err
}

// Dial calls uri (or a bare number, completed with the account's domain).
func (p *Phone) Dial(uri string) error {
	_, err := p.Command("dial", uri)
	return err
}

// SendDigits sends DTMF in the current call (menu's sndcode: RFC 4733
// telephone events when the peer offered them).
func (p *Phone) SendDigits(digits string) error {
	_, err := p.Command("sndcode", digits)
	return err
}

// Hangup ends the current call.
func (p *Phone) Hangup() error {
	_, err := p.Command("hangup", "")
	return err
}

// Accept answers the incoming call.
func (p *Phone) Accept() error {
	_, err := p.Command("accept", "")
	return err
}

// aorKey is an AOR without angle brackets and URI parameters, as baresip
// names accounts in events and in uadel.
func aorKey(aor string) string {
	aor = strings.Trim(strings.TrimSpace(aor), "<>")
	if i := strings.IndexByte(aor, ';'); i >= 0 {
		aor = aor[:i]
	}
	return aor
}
