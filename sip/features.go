package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/monitor"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Feature codes: one table (directory.FeatureCode, changeable with the
// features.codes setting) says which dialed numbers are features; an
// INVITE from an extension is looked up there before it is routed.

// featureTable is the table in force.
type featureTable struct {
	p atomic.Pointer[[]directory.FeatureCode]
}

func (ft *featureTable) get() []directory.FeatureCode {
	if t := ft.p.Load(); t != nil {
		return *t
	}
	return defaultFeatures
}

var defaultFeatures = directory.DefaultFeatureCodes()

// FeatureCodes returns the feature code table in force.
func (s *Server) FeatureCodes() []directory.FeatureCode {
	return append([]directory.FeatureCode(nil), s.features.get()...)
}

// loadFeatures reads the features.codes setting. A stored value that does
// not parse (written before a rule existed) leaves the table as it was,
// with a warning.
func (s *Server) loadFeatures(ctx context.Context) error {
	v, err := s.store.Setting(ctx, directory.SettingFeatureCodes)
	if err != nil {
		return fmt.Errorf("setting %s: %w", directory.SettingFeatureCodes, err)
	}
	t, err := directory.ParseFeatureCodes(v)
	if err != nil {
		s.log.Warn("feature codes setting ignored", "err", err)
		return nil
	}
	s.features.p.Store(&t)
	return nil
}

// featureCodes takes an extension's INVITE to a feature code (*97, *60,
// *8...) and hands it to the feature that owns the code; the few codes
// that only change a user's settings (do not disturb, forwarding) it
// applies itself.
type featureCodes struct{ b *b2bua }

// dial handles an extension's INVITE to a feature code and reports
// whether it was one. The caller is authenticated.
func (fc featureCodes) dial(req *sip.Request, tx sip.ServerTransaction, caller *call.Credential) bool {
	b := fc.b
	dialed := wire.UnescapeUser(req.Recipient.User)
	f, arg, ok := directory.MatchFeature(b.s.features.get(), dialed)
	if !ok {
		return false
	}
	if mode, ok := monitor.Modes[f.Feature]; ok {
		b.monitors.MonitorCall(req, tx, caller, mode, arg)
		return true
	}
	if f.Feature == directory.FeatureVoicemail {
		b.vm.Retrieve(req, tx, caller, arg) // vmretrieve.go
		return true
	}
	if !f.Ready {
		b.Responder.Respond(tx, req, 404, "Not Found (Feature Not Available Yet: "+string(f.Feature)+")")
		return true
	}
	switch f.Feature {
	case directory.FeaturePickupGroup, directory.FeaturePickupDirected:
		b.pickups.Feature(req, tx, caller, f.Feature, arg) // pickup.go
		return true
	case directory.FeaturePark:
		b.lot.Retrieve(req, tx, caller, "") // park.go: the longest parked call caller may take
		return true
	case directory.FeatureIntercom:
		b.intercom.Call(req, tx, caller, arg) // intercom.go
		return true
	case directory.FeaturePaging:
		b.pager.Page(req, tx, caller, arg) // paging.go
		return true
	case directory.FeatureQueueLogin, directory.FeatureQueueLogout, directory.FeatureQueuePause,
		directory.FeatureQueueUnpause:
		b.queues.Feature(req, tx, caller, f, arg) // queueagent.go
		return true
	}
	var p directory.UserPatch
	var done string
	switch f.Feature {
	case directory.FeatureDNDOn, directory.FeatureDNDOff:
		on := f.Feature == directory.FeatureDNDOn
		p.DND = &on
		done = map[bool]string{true: "Do Not Disturb On", false: "Do Not Disturb Off"}[on]
	case directory.FeatureForwardOn:
		p.ForwardAlways = &arg
		done = "Forward To " + arg
	case directory.FeatureForwardOff:
		none := ""
		p.ForwardAlways = &none
		done = "Forward Off"
	default:
		b.Responder.Respond(tx, req, 404, "Not Found")
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	defer cancel()
	u, err := b.Store.UpdateUser(ctx, caller.UserID, p)
	if err != nil {
		b.Log.Warn("feature code not applied", "ext", caller.Ext, "feature", string(f.Feature), "err", err)
		if errors.Is(err, directory.ErrInvalid) {
			b.Responder.Respond(tx, req, 484, "Address Incomplete")
			return true
		}
		res := b.Responder.Response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", call.StoreRetryAfter))
		b.Responder.Send(tx, res)
		return true
	}
	b.Audit(ctx, caller, "user.forwarding", fmt.Sprintf("user:%d", u.ID), "feature code "+f.Code+": "+strings.ToLower(done))
	gone := b.Creds.Update(u)
	if gone != "" {
		b.s.loc.Drop(ctx, gone)
	}
	b.s.subs.UserChanged(u, gone)
	b.Log.Info("feature code", "ext", caller.Ext, "feature", string(f.Feature))
	// Done, and no call to set up: the phone shows the reason phrase.
	b.Responder.Respond(tx, req, 603, "Decline ("+done+")")
	return true
}

// loadPark reads the park settings into the orbit table, and the queues'
// prompts, read with them. A stored value that does not parse leaves the
// setting as it was, with a warning.
func (s *Server) loadPark(ctx context.Context) error {
	if s.calls == nil {
		return nil
	}
	if err := s.calls.lot.Load(ctx); err != nil {
		return err
	}
	dir, err := s.store.Setting(ctx, directory.SettingQueuePrompts)
	if err != nil {
		return fmt.Errorf("setting %s: %w", directory.SettingQueuePrompts, err)
	}
	s.calls.queues.Prompts.Load(s.calls.Core, dir)
	return nil
}
