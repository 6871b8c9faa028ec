package authz

import "github.com/switchboard-pbx/switchboard/directory"

// Resource is what Can needs to know about the object of a decision. Build
// it with CallResource, RecordingResource, UserResource or ContactResource.
type Resource struct {
	Kind Kind
	// UserIDs are the users taking part: caller and callee of a call or of
	// a recording's call, the user themself for users.*.
	UserIDs []int64
	// AssignedTo, CreatedBy and Public describe a contact; AssignedTo 0
	// means unassigned.
	AssignedTo int64
	CreatedBy  int64
	Public     bool
	// GroupIDs place office hours in the group tree: their department
	// and that department's parents up to the top; none for company-wide
	// hours.
	GroupIDs []int64
}

// CallResource describes a call (a CDR row): its caller and callee, those
// that are users.
func CallResource(c *directory.Call) Resource {
	if c == nil {
		return Resource{Kind: KindCall}
	}
	return Resource{Kind: KindCall, UserIDs: participants(c.CallerID, c.CalleeID)}
}

// RecordingResource describes a recording by the caller and callee of its
// call, which the stores fill in.
func RecordingResource(r *directory.Recording) Resource {
	if r == nil {
		return Resource{Kind: KindRecording}
	}
	return Resource{Kind: KindRecording, UserIDs: participants(r.CallerID, r.CalleeID)}
}

// UserResource describes a user account for users.view and users.manage.
func UserResource(u *directory.User) Resource {
	if u == nil || u.ID == 0 {
		return Resource{Kind: KindUser}
	}
	return Resource{Kind: KindUser, UserIDs: []int64{u.ID}}
}

// ContactResource describes a CRM contact: who it is assigned to, who
// created it, whether it is public.
func ContactResource(c *directory.Contact) Resource {
	if c == nil {
		return Resource{Kind: KindContact}
	}
	return Resource{Kind: KindContact, AssignedTo: c.AssignedTo, CreatedBy: c.CreatedBy, Public: c.Public}
}

// ScheduleResource describes office hours by the path of their
// department in the group tree, the department first and then its
// parents; an empty path is company-wide hours and the inbound numbers'
// routing, which only the any scope covers.
func ScheduleResource(groupPath []int64) Resource {
	return Resource{Kind: KindSchedule, GroupIDs: groupPath}
}

// QueueResource describes a call queue by the path of its
// department, as ScheduleResource does office hours; an empty path is a
// company-wide queue, which only the any scope covers.
func QueueResource(groupPath []int64) Resource {
	return Resource{Kind: KindQueue, GroupIDs: groupPath}
}

func participants(a, b int64) []int64 {
	switch {
	case a != 0 && b != 0 && a != b:
		return []int64{a, b}
	case a != 0:
		return []int64{a}
	case b != 0:
		return []int64{b}
	}
	return nil
}

// Kind is the kind of a Resource.
type Kind uint8

// Resource kinds. The zero Kind is no resource and matches no scoped rule.
const (
	KindCall Kind = iota + 1
	KindRecording
	KindUser
	KindContact
	KindSchedule
	KindQueue
)

var kindNames = [...]string{"", "call", "recording", "user", "contact", "schedule", "queue"}

// String returns the kind's name: "call", "recording", "user", "contact".
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}
