package directory

// UserVersioner is offered by a Store that counts the commits made through
// it that change a user (those that log a ChangeUser). The count advances
// after such a commit and before the call that made it returns, so a reader
// that notes it before reading a user and finds it unchanged later knows
// that no change made through this Store since can have escaped that read.
// Changes made through another Store (another process on the same file,
// another node) are not counted: they reach a reader through the change
// log (Changes), as before.
type UserVersioner interface {
	UserVersion() uint64
}
