package call

import (
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/creds"
)

// Credential is an authenticated extension's entry in the credentials
// cache (sip/creds): what the request handlers are given of the caller.
type Credential = creds.Credential

// StoreRetryAfter is what a phone is told to wait when the directory cannot
// answer for an extension not cached.
const StoreRetryAfter = auth.StoreRetryAfter
