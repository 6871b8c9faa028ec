package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// queueJSON is a call queue in the API.
type queueJSON struct {
	ID                  int64     `json:"id"`
	Number              string    `json:"number"`
	Name                string    `json:"name"`
	GroupID             int64     `json:"group_id,omitempty"`
	Strategy            string    `json:"strategy"`
	RingSeconds         int       `json:"ring_seconds"`
	MaxWaitSeconds      int       `json:"max_wait_seconds"`
	MaxCallers          int       `json:"max_callers"`
	WrapUpSeconds       int       `json:"wrap_up_seconds"`
	Overflow            string    `json:"overflow"`
	Music               string    `json:"music"`
	ServiceLevelSeconds int       `json:"service_level_seconds"`
	Members             []int64   `json:"members"`
	CreatedAt           time.Time `json:"created_at"`
}

func toQueueJSON(q *directory.Queue) queueJSON {
	members := q.Members
	if members == nil {
		members = []int64{}
	}
	return queueJSON{ID: q.ID, Number: q.Number, Name: q.Name, GroupID: q.GroupID, Strategy: q.Strategy,
		RingSeconds: q.RingSeconds, MaxWaitSeconds: q.MaxWaitSeconds, MaxCallers: q.MaxCallers,
		WrapUpSeconds: q.WrapUpSeconds, Overflow: q.Overflow, Music: q.Music,
		ServiceLevelSeconds: q.ServiceLevelSeconds, Members: members, CreatedAt: q.CreatedAt}
}

// queueBodyJSON is what POST and PUT take; PUT replaces every field
// (members too, when given).
type queueBodyJSON struct {
	Number              string  `json:"number"`
	Name                string  `json:"name"`
	GroupID             int64   `json:"group_id"`
	Strategy            string  `json:"strategy"`
	RingSeconds         int     `json:"ring_seconds"`
	MaxWaitSeconds      int     `json:"max_wait_seconds"`
	MaxCallers          int     `json:"max_callers"`
	WrapUpSeconds       int     `json:"wrap_up_seconds"`
	Overflow            string  `json:"overflow"`
	Music               string  `json:"music"`
	ServiceLevelSeconds int     `json:"service_level_seconds"`
	Members             []int64 `json:"members"`
}

func (in queueBodyJSON) apply(q *directory.Queue) {
	q.Number, q.Name, q.GroupID, q.Strategy = in.Number, in.Name, in.GroupID, in.Strategy
	q.RingSeconds, q.MaxWaitSeconds, q.MaxCallers, q.WrapUpSeconds = in.RingSeconds, in.MaxWaitSeconds,
		in.MaxCallers, in.WrapUpSeconds
	q.Overflow, q.Music, q.ServiceLevelSeconds = in.Overflow, in.Music, in.ServiceLevelSeconds
	if in.Members != nil {
		q.Members = in.Members
	}
}

func (s *Server) apiQueues(w http.ResponseWriter, r *http.Request) {
	all, err := s.store.Queues(r.Context())
	var groups []directory.Group
	if err == nil {
		groups, err = s.store.Groups(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []queueJSON{}
	for i := range all {
		res := authz.QueueResource(groupPath(groups, all[i].GroupID))
		if authz.Can(subject(r), authz.QueuesView, res) == nil || authz.Can(subject(r), authz.QueuesManage, res) == nil {
			out = append(out, toQueueJSON(&all[i]))
		}
	}
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}

func (s *Server) apiQueue(w http.ResponseWriter, r *http.Request) {
	q, err := s.queueParam(r, authz.QueuesView, authz.QueuesManage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toQueueJSON(q))
}

func (s *Server) apiQueueCreate(w http.ResponseWriter, r *http.Request) {
	var in queueBodyJSON
	var q directory.Queue
	err := readJSON(w, r, &in)
	if err == nil {
		in.apply(&q)
		err = s.saveQueue(r, &q, true)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, "/api/v1/queues/"+strconv.FormatInt(q.ID, 10), toQueueJSON(&q))
}

func (s *Server) apiQueueUpdate(w http.ResponseWriter, r *http.Request) {
	q, err := s.queueParam(r, authz.QueuesManage) // 404 before a 400 for the body
	var in queueBodyJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	if err == nil {
		in.apply(q)
		err = s.saveQueue(r, q, false)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toQueueJSON(q))
}

// apiQueueMembers replaces a queue's agents: {"members": [12, 14]}.
func (s *Server) apiQueueMembers(w http.ResponseWriter, r *http.Request) {
	q, err := s.queueParam(r, authz.QueuesManage)
	var in struct {
		Members []int64 `json:"members"`
	}
	if err == nil {
		err = readJSON(w, r, &in)
	}
	if err == nil {
		q.Members = in.Members
		if q.Members == nil {
			q.Members = []int64{}
		}
		err = s.saveQueue(r, q, false)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toQueueJSON(q))
}

// apiQueueAgent logs an agent of the queue in or out, or pauses
// ({"reason": "lunch"}) or unpauses them.
func (s *Server) apiQueueAgent(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := readJSON(w, r, &in); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if err := s.setQueueAgent(r, action, in.Reason); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// boardJSON is a queue's live state.
type boardJSON struct {
	Queue   queueJSON         `json:"queue"`
	Waiting []boardCallerJSON `json:"waiting"`
	Agents  []boardAgentJSON  `json:"agents"`
	Stats   boardStatsJSON    `json:"stats"`
}

type boardCallerJSON struct {
	From     string `json:"from"`
	Position int    `json:"position"`
	Waiting  int64  `json:"waiting_seconds"`
}

type boardAgentJSON struct {
	UserID   int64  `json:"user_id"`
	State    string `json:"state"`
	Reason   string `json:"reason,omitempty"`
	Answered int    `json:"answered"`
}

type boardStatsJSON struct {
	Entered        int     `json:"entered"`
	Answered       int     `json:"answered"`
	AnsweredWithin int     `json:"answered_within_service_level"`
	Abandoned      int     `json:"abandoned"`
	Overflowed     int     `json:"overflowed"`
	Missed         int     `json:"missed"`
	Waiting        int     `json:"waiting"`
	LongestWait    int64   `json:"longest_wait_seconds"`
	AverageWait    int64   `json:"average_wait_seconds"`
	ServiceLevel   float64 `json:"service_level"`
}

func toBoardJSON(b QueueStatus, now time.Time) boardJSON {
	out := boardJSON{Queue: toQueueJSON(&b.Queue), Waiting: []boardCallerJSON{}, Agents: []boardAgentJSON{},
		Stats: boardStatsJSON{Entered: b.Stats.Entered, Answered: b.Stats.Answered, AnsweredWithin: b.Stats.AnsweredWithin,
			Abandoned: b.Stats.Abandoned, Overflowed: b.Stats.Overflowed, Missed: b.Stats.Missed,
			Waiting: b.Stats.Waiting, LongestWait: int64(b.Stats.LongestWait / time.Second),
			AverageWait: int64(b.Stats.AverageWait() / time.Second), ServiceLevel: b.Stats.ServiceLevel()}}
	for _, c := range b.Waiting {
		out.Waiting = append(out.Waiting, boardCallerJSON{From: c.From, Position: c.Position,
			Waiting: int64(now.Sub(c.Since) / time.Second)})
	}
	for _, a := range b.Agents {
		id, _ := strconv.ParseInt(a.ID, 10, 64)
		out.Agents = append(out.Agents, boardAgentJSON{UserID: id, State: a.State, Reason: a.Reason, Answered: a.Answered})
	}
	return out
}

func (s *Server) apiQueueBoard(w http.ResponseWriter, r *http.Request) {
	q, err := s.queueParam(r, authz.QueuesView)
	var boards []QueueStatus
	if err == nil {
		boards, err = s.queueBoards(r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, b := range boards {
		if b.Queue.ID == q.ID {
			writeJSON(w, http.StatusOK, toBoardJSON(b, time.Now()))
			return
		}
	}
	writeJSON(w, http.StatusOK, toBoardJSON(QueueStatus{Queue: *q}, time.Now()))
}
