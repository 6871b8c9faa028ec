package voicemail

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
)

// Group voicemail: a call to a group number nobody answers
// goes to the group's mailbox (voicemail.deposit). Its messages are the
// members': recordings.listen over the group's mailbox
// (authz.GroupMailboxResource) decides who may watch its lamp (a
// message-summary subscription to the group number), who gets the e-mail
// copy, and who may hear it by phone (the voicemail code followed by the
// group number, with the group's PIN).

// ErrNoGroup is a number that is no group's.
var ErrNoGroup = errors.New("no such group")

// GroupMailbox finds the group whose number ext is and asks authz whether
// the user may hear its mailbox. It returns errNoGroup when ext is no
// group's, an *authz.DeniedError when the user may not, or the store's
// error.
func (vm *Service) GroupMailbox(ctx context.Context, userID int64, ext string) (*directory.Group, error) {
	s := vm.Core
	g, err := s.Store.GroupByExtension(ctx, ext)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, ErrNoGroup
	}
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", ext, err)
	}
	if err := vm.mayHearGroupMailbox(ctx, userID, g.ID); err != nil {
		return nil, err
	}
	return g, nil
}

// mayHearGroupMailbox asks authz whether the user may hear the group's
// voicemail (recordings.listen over the group's mailbox).
func (vm *Service) mayHearGroupMailbox(ctx context.Context, userID, groupID int64) error {
	s := vm.Core
	acc, err := s.Store.Access(ctx, userID)
	if err != nil {
		return fmt.Errorf("access of user %d: %w", userID, err)
	}
	groups, err := s.Store.Groups(ctx)
	if err != nil {
		return fmt.Errorf("groups: %w", err)
	}
	return authz.Can(authz.NewSubject(acc), authz.RecordingsListen,
		authz.GroupMailboxResource(directory.GroupPath(groups, groupID)))
}

// groupMailRecipients are the members of a group who get a copy of its
// messages: those recordings.listen lets hear the group's mailbox, with
// an e-mail address.
func (vm *Service) groupMailRecipients(ctx context.Context, groupID int64) ([]*directory.User, error) {
	s := vm.Core
	ids, err := s.Store.GroupMembers(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("members of group %d: %w", groupID, err)
	}
	var out []*directory.User
	for _, id := range ids {
		if err := vm.mayHearGroupMailbox(ctx, id, groupID); err != nil {
			s.Log.Debug("group voicemail not mailed to a member", "user_id", id, "group_id", groupID, "err", err)
			continue
		}
		u, err := s.Store.User(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("user %d: %w", id, err)
		}
		if u.Email != "" {
			out = append(out, u)
		}
	}
	return out, nil
}

// mailboxOwner names a mailbox: a user's (userID) or a group's.
type mailboxOwner struct{ userID, groupID int64 }

// object is the mailbox as an audit entry's object.
func (o mailboxOwner) object() string {
	if o.groupID != 0 {
		return "group:" + strconv.FormatInt(o.groupID, 10)
	}
	return "user:" + strconv.FormatInt(o.userID, 10)
}

// mailboxToHear is the mailbox a call to the voicemail code opens: the
// caller's own, or the group's whose number follows the code when the
// caller may hear it. It answers the INVITE and reports false otherwise.
func (vm *Service) mailboxToHear(req *sip.Request, tx sip.ServerTransaction, caller *call.Credential, group string) (mailboxOwner, bool) {
	b := vm.Core
	if group == "" {
		return mailboxOwner{userID: caller.UserID}, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	g, err := vm.GroupMailbox(ctx, caller.UserID, group)
	cancel()
	var de *authz.DeniedError
	switch {
	case errors.Is(err, ErrNoGroup):
		b.Responder.Respond(tx, req, 404, "Not Found (No Such Group)")
		return mailboxOwner{}, false
	case errors.As(err, &de):
		b.Log.Info("group voicemail refused", "ext", caller.Ext, "group", group, "err", err)
		b.Responder.Respond(tx, req, 403, "Forbidden ("+de.Reason+")")
		return mailboxOwner{}, false
	case err != nil:
		b.Log.Warn("group voicemail refused: store", "ext", caller.Ext, "group", group, "err", err)
		b.Responder.Respond(tx, req, 503, "Service Unavailable")
		return mailboxOwner{}, false
	}
	return mailboxOwner{groupID: g.ID}, true
}
