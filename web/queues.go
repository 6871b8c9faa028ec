package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/acd"
	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// Call queues. queues.view shows the live board (callers
// waiting, agents' states, service level); queues.manage creates and edits
// queues and their agents and logs agents in or out or pauses them. At
// department scope both cover the queues of one's groups and their
// subgroups, at any every queue, company-wide ones too (authz.QueueResource
// by the queue's department). Agents log themselves in by phone (feature
// codes *60 to *63, package sip).
func (s *Server) registerQueues(web, api *router) {
	web.get("/queues", needAny(authz.QueuesView, authz.QueuesManage), s.queuesShow) // what the scope covers
	web.post("/queues", need(authz.QueuesManage), s.queuesCreate)
	web.get("/queues/{id}", perResource(authz.QueuesManage), s.queueEdit)
	web.post("/queues/{id}", perResource(authz.QueuesManage), s.queueUpdate)
	web.post("/queues/{id}/delete", perResource(authz.QueuesManage), s.queueDeletePost)
	for _, a := range queueAgentActions {
		web.post("/queues/{id}/agents/{user_id}/"+a, perResource(authz.QueuesManage), s.queueAgentPost(a))
	}

	api.get("/queues", needAny(authz.QueuesView, authz.QueuesManage), s.apiQueues)
	api.post("/queues", need(authz.QueuesManage), s.apiQueueCreate)
	api.get("/queues/{id}", needAny(authz.QueuesView, authz.QueuesManage), s.apiQueue)
	api.put("/queues/{id}", perResource(authz.QueuesManage), s.apiQueueUpdate)
	api.delete("/queues/{id}", perResource(authz.QueuesManage), s.apiDelete(s.deleteQueue))
	api.put("/queues/{id}/members", perResource(authz.QueuesManage), s.apiQueueMembers)
	api.get("/queues/{id}/board", perResource(authz.QueuesView), s.apiQueueBoard)
	for _, a := range queueAgentActions {
		api.post("/queues/{id}/agents/{user_id}/"+a, perResource(authz.QueuesManage), s.apiQueueAgent(a))
	}
}

// queueAgentActions are what a manager does to an agent of a queue.
var queueAgentActions = []string{"login", "logout", "pause", "unpause"}

// queueAuditActions are the audit actions of call queues (queue.agent is
// also written by the SIP side for the feature codes).
var queueAuditActions = []string{"queue.create", "queue.update", "queue.delete", "queue.agent"}

// QueueLive is offered by a Live that runs call queues.
type QueueLive interface {
	QueueBoard(ctx context.Context) ([]QueueStatus, error)
	// QueueAgent logs a user in or out of their queues or pauses or
	// unpauses them (action login, logout, pause, unpause); a user of no
	// queue, or pausing one logged out, is a *directory.InvalidError.
	QueueAgent(ctx context.Context, userID int64, action, reason string) error
}

// QueueStatus is a queue as the board shows it now.
type QueueStatus struct {
	Queue   directory.Queue
	Stats   acd.Stats
	Waiting []QueueCaller
	Agents  []acd.AgentState
}

// QueueCaller is a caller waiting in a queue.
type QueueCaller struct {
	CallID   string
	From     string
	Since    time.Time
	Position int
}

// errNoQueues answers an agent action on a server without a call side.
var errNoQueues = directory.Conflict("queue", "call queues are not running on this server")

func (s *Server) queueLive() (QueueLive, error) {
	ql, ok := s.live.(QueueLive)
	if !ok {
		return nil, errNoQueues
	}
	return ql, nil
}

// canQueue asks authz whether the viewer holds p on the queues of the
// department groupID (0: company-wide).
func (s *Server) canQueue(r *http.Request, p authz.Permission, groupID int64) error {
	groups, err := s.store.Groups(r.Context())
	if err != nil {
		return err
	}
	return authz.Can(subject(r), p, authz.QueueResource(groupPath(groups, groupID)))
}

// queueParam loads the queue of the path if p (or, for a view, either
// permission) covers it.
func (s *Server) queueParam(r *http.Request, ps ...authz.Permission) (*directory.Queue, error) {
	id, err := idParam(r)
	if err != nil {
		return nil, err
	}
	q, err := s.store.Queue(r.Context(), id)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if err = s.canQueue(r, p, q.GroupID); err == nil {
			return q, nil
		}
	}
	return nil, err
}

// saveQueue creates or updates q, in a department within the viewer's
// queues.manage, and audits it.
func (s *Server) saveQueue(r *http.Request, q *directory.Queue, create bool) error {
	if err := s.canQueue(r, authz.QueuesManage, q.GroupID); err != nil {
		return forbidden(err)
	}
	var err error
	action := "queue.update"
	if create {
		err, action = s.store.CreateQueue(r.Context(), q), "queue.create"
	} else {
		err = s.store.UpdateQueue(r.Context(), q)
	}
	if err != nil {
		return err
	}
	members := make([]string, len(q.Members))
	for i, id := range q.Members {
		members[i] = strconv.FormatInt(id, 10)
	}
	s.audit(r, viewerOf(r), action, "queue:"+strconv.FormatInt(q.ID, 10),
		q.Number+" "+q.Name+" "+q.Strategy+" members "+strings.Join(members, ","))
	return nil
}

func (s *Server) deleteQueue(r *http.Request) error {
	q, err := s.queueParam(r, authz.QueuesManage)
	if err != nil {
		return err
	}
	if err := s.store.DeleteQueue(r.Context(), q.ID); err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "queue.delete", "queue:"+strconv.FormatInt(q.ID, 10), q.Number+" "+q.Name)
	return nil
}

// setQueueAgent acts on an agent of the queue of the path.
func (s *Server) setQueueAgent(r *http.Request, action, reason string) error {
	q, err := s.queueParam(r, authz.QueuesManage)
	if err != nil {
		return err
	}
	uid, err := idParamNamed(r, "user_id")
	if err != nil {
		return err
	}
	if !slices.Contains(q.Members, uid) {
		return &directory.InvalidError{Field: "user", Rule: "is not an agent of this queue"}
	}
	ql, err := s.queueLive()
	if err != nil {
		return err
	}
	if err := ql.QueueAgent(r.Context(), uid, action, strings.TrimSpace(reason)); err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "queue.agent", "user:"+strconv.FormatInt(uid, 10), action+" (queue "+q.Number+")")
	return nil
}

// queueBoards is the live state of the queues the viewer may see.
func (s *Server) queueBoards(r *http.Request) ([]QueueStatus, error) {
	ql, err := s.queueLive()
	if err != nil {
		return nil, nil // no call side: nothing live to show
	}
	all, err := ql.QueueBoard(r.Context())
	if err != nil {
		return nil, err
	}
	groups, err := s.store.Groups(r.Context())
	if err != nil {
		return nil, err
	}
	var out []QueueStatus
	for _, b := range all {
		if authz.Can(subject(r), authz.QueuesView, authz.QueueResource(groupPath(groups, b.Queue.GroupID))) == nil {
			out = append(out, b)
		}
	}
	return out, nil
}
