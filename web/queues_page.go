package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// The queues page: the live board of the queues the viewer may see, the
// queues they may manage, and the form of one.
type queuesPage struct {
	Boards     []QueueStatus
	Queues     []directory.Queue // those queues.manage covers
	Groups     []directory.Group // departments the viewer may put a queue in
	Users      map[int64]directory.User
	Manage     bool // may manage some queue: the form shows
	Company    bool // may manage company-wide queues
	Edit       bool
	Form       directory.Queue
	Members    string // the form's members, as extensions
	Strategies []string
	Errors     map[string]string
	Now        time.Time
}

// Wait is how long a caller has waited.
func (qp queuesPage) Wait(since time.Time) time.Duration {
	return qp.Now.Sub(since).Truncate(time.Second)
}

// Agent names an agent of the board ("10002 Anna").
func (qp queuesPage) Agent(id string) string {
	uid, _ := strconv.ParseInt(id, 10, 64)
	if u, ok := qp.Users[uid]; ok {
		return u.Extension + " " + u.Name
	}
	return id
}

// ServiceLevel is the queue's share answered within its service level,
// in percent.
func (qp queuesPage) ServiceLevel(b QueueStatus) int { return int(b.Stats.ServiceLevel()*100 + 0.5) }

// ManageQueue reports whether the viewer may act on the queue's agents.
func (qp queuesPage) ManageQueue(id int64) bool {
	return slices.ContainsFunc(qp.Queues, func(q directory.Queue) bool { return q.ID == id })
}

func (s *Server) queuesShow(w http.ResponseWriter, r *http.Request) {
	s.renderQueues(w, r, http.StatusOK, queuesPage{})
}

func (s *Server) renderQueues(w http.ResponseWriter, r *http.Request, status int, qp queuesPage) {
	ctx := r.Context()
	subj := subject(r)
	all, err := s.store.Queues(ctx)
	if err == nil {
		qp.Groups, err = s.store.Groups(ctx)
	}
	if err == nil && authz.CanDo(subj, authz.QueuesView) == nil {
		qp.Boards, err = s.queueBoards(r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	qp.Now, qp.Strategies = time.Now(), directory.QueueStrategies
	qp.Manage = authz.CanDo(subj, authz.QueuesManage) == nil
	qp.Company = authz.Can(subj, authz.QueuesManage, authz.QueueResource(nil)) == nil
	for _, q := range all {
		if authz.Can(subj, authz.QueuesManage, authz.QueueResource(groupPath(qp.Groups, q.GroupID))) == nil {
			qp.Queues = append(qp.Queues, q)
		}
	}
	if !qp.Company {
		qp.Groups = slices.DeleteFunc(qp.Groups, func(g directory.Group) bool {
			return authz.Can(subj, authz.QueuesManage, authz.QueueResource(groupPath(qp.Groups, g.ID))) != nil
		})
	}
	qp.Users = map[int64]directory.User{}
	for _, b := range qp.Boards {
		for _, a := range b.Agents {
			id, _ := strconv.ParseInt(a.ID, 10, 64)
			if _, ok := qp.Users[id]; !ok {
				if u, err := s.store.User(ctx, id); err == nil {
					qp.Users[id] = *u
				}
			}
		}
	}
	if qp.Form.Strategy == "" {
		qp.Form.Strategy = "ring_all"
	}
	p := s.page(r, "queues.title")
	p.Data = qp
	s.render(w, r, status, "queues.html", p)
}

// queueForm reads the form into q; members are extensions, comma or
// space separated.
func (s *Server) queueForm(r *http.Request, q *directory.Queue) (string, error) {
	atoi := func(name string) int { n, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue(name))); return n }
	q.Number, q.Name = r.PostFormValue("number"), r.PostFormValue("name")
	q.GroupID, _ = strconv.ParseInt(r.PostFormValue("group_id"), 10, 64)
	q.Strategy = r.PostFormValue("strategy")
	q.RingSeconds, q.MaxWaitSeconds, q.MaxCallers = atoi("ring_seconds"), atoi("max_wait_seconds"), atoi("max_callers")
	q.WrapUpSeconds, q.ServiceLevelSeconds = atoi("wrap_up_seconds"), atoi("service_level_seconds")
	q.Overflow, q.Music = r.PostFormValue("overflow"), r.PostFormValue("music")
	members := r.PostFormValue("members")
	q.Members = []int64{}
	for _, ext := range strings.FieldsFunc(members, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' }) {
		u, err := s.store.UserByExtension(r.Context(), ext)
		if isNotFound(err) {
			return members, &directory.InvalidError{Field: "members", Rule: "no user has extension " + ext}
		}
		if err != nil {
			return members, err
		}
		q.Members = append(q.Members, u.ID)
	}
	return members, nil
}

// memberExts writes a queue's members as the form shows them.
func (s *Server) memberExts(r *http.Request, q *directory.Queue) string {
	var exts []string
	for _, id := range q.Members {
		if u, err := s.store.User(r.Context(), id); err == nil {
			exts = append(exts, u.Extension)
		}
	}
	return strings.Join(exts, ", ")
}

func (s *Server) queuesCreate(w http.ResponseWriter, r *http.Request) {
	s.queueSave(w, r, nil)
}

func (s *Server) queueEdit(w http.ResponseWriter, r *http.Request) {
	q, err := s.queueParam(r, authz.QueuesManage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderQueues(w, r, http.StatusOK, queuesPage{Edit: true, Form: *q, Members: s.memberExts(r, q)})
}

func (s *Server) queueUpdate(w http.ResponseWriter, r *http.Request) {
	q, err := s.queueParam(r, authz.QueuesManage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.queueSave(w, r, q)
}

// queueSave creates (q nil) or updates a queue from the form.
func (s *Server) queueSave(w http.ResponseWriter, r *http.Request, q *directory.Queue) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	create := q == nil
	if create {
		q = &directory.Queue{}
	}
	members, err := s.queueForm(r, q)
	if err == nil {
		err = s.saveQueue(r, q, create)
	}
	if fe := formErrors(err); fe != nil {
		s.renderQueues(w, r, http.StatusBadRequest, queuesPage{Edit: !create, Form: *q, Members: members, Errors: fe})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/queues", map[bool]string{true: "created", false: "saved"}[create])
}

func (s *Server) queueDeletePost(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteQueue(r); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/queues", "deleted")
}

func (s *Server) queueAgentPost(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.setQueueAgent(r, action, r.PostFormValue("reason")); err != nil {
			s.fail(w, r, err)
			return
		}
		done(w, r, "/queues", "saved")
	}
}
