package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/sip"
)

// sipTCP is the SIP TCP connection hygiene: how long a request may take to
// arrive, how long connections may idle, and how many there may be.
type sipTCP struct {
	messageTimeout, unregisteredIdle, idle, max, maxPerSource string

	MessageTimeout, UnregisteredIdle, Idle time.Duration // 0: sip's default
	Max, MaxPerSource                      int           // 0: sip's default
}

func (f *flagSet) sipTCPFlags(t *sipTCP) {
	f.str(&t.messageTimeout, "sip-tcp-message-timeout", "10s",
		"a SIP message begun on a TCP connection must be complete within this, or the connection is closed")
	f.str(&t.unregisteredIdle, "sip-tcp-unregistered-idle", "30s",
		"close a TCP connection carrying no registration after this long without a request")
	f.str(&t.idle, "sip-tcp-idle", "",
		"close a registered phone's TCP connection after this long without traffic (default: 1h1m)")
	f.str(&t.max, "sip-tcp-max", "0", "most TCP connections in all (0: half the process's file limit)")
	f.str(&t.maxPerSource, "sip-tcp-max-per-source", "256", "most TCP connections from one source IP")
}

// validate parses the flags' values, reporting each mistake through field.
func (t *sipTCP) validate(field func(name, msg string)) {
	dur := func(name, s string, min time.Duration, p *time.Duration) {
		if s == "" {
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < min {
			field(name, fmt.Sprintf("%q: must be a duration of at least %s, like 30s", s, min))
			return
		}
		*p = d
	}
	dur("sip-tcp-message-timeout", t.messageTimeout, 10*time.Millisecond, &t.MessageTimeout)
	dur("sip-tcp-unregistered-idle", t.unregisteredIdle, 10*time.Millisecond, &t.UnregisteredIdle)
	dur("sip-tcp-idle", t.idle, time.Second, &t.Idle)
	count := func(name, s string, p *int) {
		if s == "" {
			return // not given (a Config built in code): the default
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			field(name, fmt.Sprintf("%q: must be a whole number, 0 or more", s))
			return
		}
		*p = n
	}
	count("sip-tcp-max", t.max, &t.Max)
	count("sip-tcp-max-per-source", t.maxPerSource, &t.MaxPerSource)
}

// apply puts the values into the SIP server's configuration.
func (t sipTCP) apply(c *sip.Config) {
	c.TCPMessageTimeout, c.TCPUnregisteredIdle, c.TCPIdleTimeout = t.MessageTimeout, t.UnregisteredIdle, t.Idle
	c.MaxTCP, c.MaxTCPPerSource = t.Max, t.MaxPerSource
}
