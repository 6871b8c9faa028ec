package directory

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Queue is a call queue (ACD): a number of the dial plan,
// like a user's or group's extension and never the same, whose callers
// wait hearing music on hold until one of its members (agents) takes the
// call. The decisions (who is offered which caller) are package acd's;
// this is what the directory keeps of a queue.
type Queue struct {
	ID     int64
	Number string // in the dial plan: 5 or 6 digits, unique across users, groups and queues
	Name   string
	// GroupID is the department the queue belongs to, which scopes who
	// may see and manage it (queues.view, queues.manage); 0: none.
	GroupID int64
	// Strategy is acd's: ring_all, longest_idle, round_robin, fewest_calls.
	Strategy string
	// RingSeconds is how long an offer rings an agent before it goes to
	// the next one.
	RingSeconds int
	// MaxWaitSeconds is how long a caller waits before overflowing; 0:
	// until they hang up.
	MaxWaitSeconds int
	// MaxCallers is how many may wait; the next one overflows at once. 0:
	// no limit.
	MaxCallers int
	// WrapUpSeconds is an agent's pause after each queue call.
	WrapUpSeconds int
	// Overflow is the number the router sends a caller to when the
	// queue gives up on them (waited the maximum, queue full, nobody
	// logged in); "": the caller hears a busy signal.
	Overflow string
	// Music is the path of the WAV waiting callers hear; "": the park
	// music on hold setting.
	Music string
	// ServiceLevelSeconds is the N of "answered within N seconds".
	ServiceLevelSeconds int
	// Members are the user IDs of the queue's agents, in round-robin
	// order.
	Members   []int64
	CreatedAt time.Time
}

// Defaults of a queue's durations.
const (
	DefaultQueueRingSeconds         = 20
	DefaultQueueServiceLevelSeconds = 20
)

// QueueStrategies are the strategies a queue may have.
var QueueStrategies = []string{"ring_all", "longest_idle", "round_robin", "fewest_calls"}

// Validate normalizes and checks q.
func (q *Queue) Validate() error {
	var errs fieldErrors
	q.Number = strings.TrimSpace(q.Number)
	if err := ValidateExtension("number", q.Number); err != nil {
		errs.add(err)
	}
	q.Name = strings.TrimSpace(q.Name)
	switch {
	case q.Name == "":
		errs.add(invalid("name", "is required"))
	case utf8.RuneCountInString(q.Name) > 100:
		errs.add(invalid("name", "must be at most 100 characters"))
	}
	if q.Strategy == "" {
		q.Strategy = "ring_all"
	}
	if !slices.Contains(QueueStrategies, q.Strategy) {
		errs.add(invalid("strategy", "must be ring_all, longest_idle, round_robin or fewest_calls"))
	}
	if q.RingSeconds == 0 {
		q.RingSeconds = DefaultQueueRingSeconds
	}
	if q.ServiceLevelSeconds == 0 {
		q.ServiceLevelSeconds = DefaultQueueServiceLevelSeconds
	}
	for _, f := range []struct {
		name string
		v    int
		max  int
	}{{"ring_seconds", q.RingSeconds, 600}, {"max_wait_seconds", q.MaxWaitSeconds, 86400},
		{"max_callers", q.MaxCallers, 10000}, {"wrap_up_seconds", q.WrapUpSeconds, 3600},
		{"service_level_seconds", q.ServiceLevelSeconds, 3600}} {
		if f.v < 0 || f.v > f.max {
			errs.add(invalid(f.name, "must be between 0 and "+strconv.Itoa(f.max)))
		}
	}
	q.Overflow = strings.TrimSpace(q.Overflow)
	if q.Overflow != "" && ValidateExtension("overflow", q.Overflow) != nil {
		errs.add(invalid("overflow", "must be the extension of a user, group or queue"))
	}
	if q.Overflow != "" && q.Overflow == q.Number {
		errs.add(invalid("overflow", "must not be the queue itself"))
	}
	q.Music = strings.TrimSpace(q.Music)
	if q.Music != "" && !strings.HasSuffix(strings.ToLower(q.Music), ".wav") {
		errs.add(invalid("music", "must be the path of a WAV file"))
	}
	if q.GroupID < 0 {
		errs.add(invalid("group_id", "must be a group ID"))
	}
	seen := map[int64]bool{}
	members := q.Members[:0:0]
	for _, id := range q.Members {
		if id <= 0 {
			errs.add(invalid("members", "must be user IDs"))
			break
		}
		if !seen[id] {
			seen[id] = true
			members = append(members, id)
		}
	}
	q.Members = members
	return errs.err()
}

// QueueAgent is an agent's login state, kept so that it survives a
// restart: a row means logged in (to every queue the user is a member
// of), Paused with its reason.
type QueueAgent struct {
	UserID int64
	Paused bool
	Reason string
}

// Errors of queues.
var (
	ErrQueueNumberTaken = Conflict("number", "already in use by a user, group or queue")
	ErrQueueMember      = &InvalidError{Field: "members", Rule: "unknown user"}
)

// QueueStore keeps call queues and their agents.
type QueueStore interface {
	// CreateQueue stores q after Queue.Validate with its members and sets
	// q.ID and q.CreatedAt. A number a user, group or queue has is
	// ErrQueueNumberTaken (and a user's or group's extension that a queue
	// has is ErrExtensionTaken), an unknown group ErrUnknownDept, an
	// unknown member ErrQueueMember.
	CreateQueue(ctx context.Context, q *Queue) error
	Queue(ctx context.Context, id int64) (*Queue, error)
	// QueueByNumber finds a queue by its number; ErrNotFound when none.
	QueueByNumber(ctx context.Context, number string) (*Queue, error)
	// Queues lists every queue with its members, by number.
	Queues(ctx context.Context) ([]Queue, error)
	// UpdateQueue writes every field of q.ID (members too) but its
	// creation time, with CreateQueue's rules.
	UpdateQueue(ctx context.Context, q *Queue) error
	DeleteQueue(ctx context.Context, id int64) error
	// SetQueueAgent records an agent's login state; nil logs them out.
	SetQueueAgent(ctx context.Context, userID int64, a *QueueAgent) error
	// QueueAgents lists the agents logged in, by user ID.
	QueueAgents(ctx context.Context) ([]QueueAgent, error)
}
