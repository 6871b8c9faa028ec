package presence

import (
	"slices"
	"strings"
)

// Status is what a lamp shows for an extension, or for a group (the
// busiest of its members).
type Status uint8

const (
	Offline   Status = iota // no phone registered, no call
	Available               // registered and idle
	DND                     // do not disturb, idle
	Ringing                 // a call rings, or the extension hears ringback
	OnCall                  // in a conversation
)

var statusNames = [...]string{"offline", "available", "dnd", "ringing", "on_call"}

// String returns the status's name: offline, available, dnd, ringing,
// on_call.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// LegState is where one leg of an extension stands.
type LegState uint8

const (
	LegRinging LegState = iota + 1
	LegAnswered
)

// Leg is one of an extension's legs of a call in progress.
type Leg struct {
	ID        string // the SIP Call-ID of the dialog with the extension's phone
	Initiator bool   // the extension placed the call
	State     LegState
	Peer      string // the other party's number; "" when hidden
	PeerName  string
}

// ext is what the table knows of one extension.
type ext struct {
	registered bool
	dnd        bool
	legs       []Leg
	lastEnded  Leg // the last leg over, shown once idle as terminated
	watchers   map[*Subscription]struct{}
}

func (e *ext) status() Status {
	st := Offline
	for _, l := range e.legs {
		switch {
		case l.State == LegAnswered:
			return OnCall
		case l.State == LegRinging:
			st = Ringing
		}
	}
	switch {
	case st != Offline:
		return st
	case !e.registered:
		return Offline
	case e.dnd:
		return DND
	}
	return Available
}

// empty reports whether e holds nothing worth keeping.
func (e *ext) empty() bool {
	return !e.registered && !e.dnd && len(e.legs) == 0 && len(e.watchers) == 0 && e.lastEnded.ID == ""
}

// setLeg adds, changes or (ended) removes one leg and reports whether
// anything changed.
func (e *ext) setLeg(l Leg, ended bool) bool {
	i := slices.IndexFunc(e.legs, func(x Leg) bool { return x.ID == l.ID })
	switch {
	case ended && i < 0:
		return false
	case ended:
		e.legs = slices.Delete(e.legs, i, i+1)
		return true
	case i < 0:
		e.legs = append(e.legs, l)
		return true
	case e.legs[i] == l:
		return false
	}
	e.legs[i] = l
	return true
}

// View is one extension's state as a watcher, or the dashboard, sees it.
type View struct {
	Ext    string
	Status Status
	// Legs are the extension's calls in progress; Peer and PeerName are
	// blank unless the viewer may see them (calls.share).
	Legs []Leg
}

// Peer returns the first leg's peer, "" when none is shown.
func (v View) Peer() string {
	for _, l := range v.Legs {
		if l.Peer != "" || l.PeerName != "" {
			return strings.TrimSpace(l.PeerName + " " + l.Peer)
		}
	}
	return ""
}

// view builds the View of e for a viewer who may see its calls' peers
// when info is set.
func (e *ext) view(number string, info bool) View {
	v := View{Ext: number, Status: e.status()}
	if len(e.legs) > 0 {
		v.Legs = make([]Leg, len(e.legs))
		copy(v.Legs, e.legs)
		if !info {
			for i := range v.Legs {
				v.Legs[i].Peer, v.Legs[i].PeerName = "", ""
			}
		}
	}
	return v
}

// Aggregate is the status of a group: ringing when any member rings, else
// on a call when any member is, else available when any member is, else
// do not disturb when any is, else offline.
func Aggregate(views []View) Status {
	best := Offline
	rank := [...]int{Offline: 0, DND: 1, Available: 2, OnCall: 3, Ringing: 4}
	for _, v := range views {
		if int(v.Status) < len(rank) && rank[v.Status] > rank[best] {
			best = v.Status
		}
	}
	return best
}
