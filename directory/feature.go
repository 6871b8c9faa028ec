package directory

import (
	"slices"
	"strings"
)

// Feature names something a phone does by dialing a feature code.
type Feature string

// The features with a code. Those not Ready are reserved: their codes are
// kept free and listed, and dialing them is refused until they are built.
const (
	FeatureMonitorListen  Feature = "monitor.listen"  // *31EXT: listen to EXT's call
	FeatureMonitorWhisper Feature = "monitor.whisper" // *32EXT: speak to EXT only
	FeatureMonitorBarge   Feature = "monitor.barge"   // *33EXT: join EXT's call
	FeatureDNDOn          Feature = "dnd.on"          // *78: do not disturb on
	FeatureDNDOff         Feature = "dnd.off"         // *79: do not disturb off
	FeatureForwardOn      Feature = "forward.on"      // *72NUMBER: forward every call to NUMBER
	FeatureForwardOff     Feature = "forward.off"     // *73: forward every call off
	FeaturePickupGroup    Feature = "pickup.group"    // *8: answer a call ringing in your groups
	FeaturePickupDirected Feature = "pickup.directed" // **EXT: answer the call ringing at EXT
	FeaturePark           Feature = "park"            // *70: a REFER here parks the call; an INVITE takes the longest parked
	FeatureIntercom       Feature = "intercom"        // *90EXT: EXT's phone answers by itself
	FeaturePaging         Feature = "paging"          // *91GROUP: every member's phone answers and hears, one-way
	FeatureVoicemail      Feature = "voicemail"       // *97: hear one's voicemail, *97GROUP a group's (PIN, then #)
	FeatureQueueLogin     Feature = "queue.login"     // *60: take the calls of one's queues
	FeatureQueueLogout    Feature = "queue.logout"    // *61: take them no more
	FeatureQueuePause     Feature = "queue.pause"     // *62[REASON]: pause, with an optional reason code
	FeatureQueueUnpause   Feature = "queue.unpause"   // *63: end the pause
)

// FeatureArg is what follows a feature code in the dialed number.
type FeatureArg uint8

const (
	ArgNone         FeatureArg = iota // the code alone
	ArgExtension                      // an extension number
	ArgNumber                         // a phone number (a forward target)
	ArgOptExtension                   // nothing, or an extension number (a group's mailbox after *97)
	ArgReason                         // up to 4 digits, or nothing (a pause's reason code)
)

// FeatureCode is one row of the feature code table.
type FeatureCode struct {
	Feature Feature
	Code    string
	Arg     FeatureArg
	Ready   bool // false: reserved, "not yet"
}

// DefaultFeatureCodes is the table before SettingFeatureCodes changes it.
func DefaultFeatureCodes() []FeatureCode {
	return []FeatureCode{
		{FeatureMonitorListen, "*31", ArgExtension, true},
		{FeatureMonitorWhisper, "*32", ArgExtension, true},
		{FeatureMonitorBarge, "*33", ArgExtension, true},
		{FeatureDNDOn, "*78", ArgNone, true},
		{FeatureDNDOff, "*79", ArgNone, true},
		{FeatureForwardOn, "*72", ArgNumber, true},
		{FeatureForwardOff, "*73", ArgNone, true},
		{FeaturePickupGroup, "*8", ArgNone, true},
		{FeaturePickupDirected, "**", ArgExtension, true},
		{FeaturePark, "*70", ArgNone, true},
		{FeatureIntercom, "*90", ArgExtension, true},
		{FeaturePaging, "*91", ArgExtension, true},
		{FeatureVoicemail, "*97", ArgOptExtension, true},
		{FeatureQueueLogin, "*60", ArgNone, true},
		{FeatureQueueLogout, "*61", ArgNone, true},
		{FeatureQueuePause, "*62", ArgReason, true},
		{FeatureQueueUnpause, "*63", ArgNone, true},
	}
}

// ParseFeatureCodes returns the table in force for a SettingFeatureCodes
// value: the defaults with the codes the value changes. The value is
// comma-separated feature=code pairs ("dnd.on=*55, dnd.off=*56"). Codes
// are 2 to 6 of the characters 0-9 * #, and begin with * or # (so no code
// is an extension or group number, which are digits only); no code may be
// a prefix of another or the same as another. Errors are
// *InvalidError for SettingFeatureCodes.
func ParseFeatureCodes(v string) ([]FeatureCode, error) {
	table := DefaultFeatureCodes()
	for _, pair := range SplitList(v) {
		name, code, ok := strings.Cut(pair, "=")
		name, code = strings.TrimSpace(name), strings.TrimSpace(code)
		i := slices.IndexFunc(table, func(f FeatureCode) bool { return string(f.Feature) == name })
		switch {
		case !ok:
			return nil, invalid(SettingFeatureCodes, "must be feature=code pairs such as dnd.on=*78, comma-separated")
		case i < 0:
			return nil, invalid(SettingFeatureCodes, "names an unknown feature "+quoteRule(name))
		case !validFeatureCode(code):
			return nil, invalid(SettingFeatureCodes, "code "+quoteRule(code)+" must be 2 to 6 of 0-9 * # starting with * or #")
		}
		table[i].Code = code
	}
	for i, a := range table {
		for j, b := range table {
			if i != j && strings.HasPrefix(b.Code, a.Code) {
				return nil, invalid(SettingFeatureCodes, "code "+quoteRule(a.Code)+" of "+string(a.Feature)+
					" is a prefix of "+quoteRule(b.Code)+" of "+string(b.Feature))
			}
		}
	}
	return table, nil
}

func validFeatureCode(c string) bool {
	if len(c) < 2 || len(c) > 6 || (c[0] != '*' && c[0] != '#') {
		return false
	}
	for i := 0; i < len(c); i++ {
		if !strings.ContainsRune("0123456789*#", rune(c[i])) {
			return false
		}
	}
	return true
}

func quoteRule(s string) string { return "\"" + s + "\"" }

// MatchFeature finds the feature a dialed number asks for in table and
// returns it with its argument (the extension or number after the code).
// A code with the wrong argument (a letter, a bad extension, nothing where
// something is needed) matches nothing.
func MatchFeature(table []FeatureCode, dialed string) (FeatureCode, string, bool) {
	for _, f := range table {
		if !strings.HasPrefix(dialed, f.Code) {
			continue
		}
		arg := dialed[len(f.Code):]
		switch f.Arg {
		case ArgNone:
			if arg != "" {
				continue
			}
		case ArgOptExtension:
			if arg != "" && ValidateExtension("extension", arg) != nil {
				continue
			}
		case ArgExtension:
			if ValidateExtension("extension", arg) != nil {
				continue
			}
		case ArgReason:
			if len(arg) > 4 || strings.Trim(arg, "0123456789") != "" {
				continue
			}
		case ArgNumber:
			arg = NormalizeForwardTarget(arg)
			if arg == "" || ValidateForwardTarget("forward_always", arg) != nil {
				continue
			}
		}
		return f, arg, true
	}
	return FeatureCode{}, "", false
}
