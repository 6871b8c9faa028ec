package main

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip"
)

// sipOption is an option of the SIP guard and digest that an operator sets
// for one node (a flag and its SWITCHBOARD_* twin) or for every node (the
// directory setting of the same meaning). A node's flag wins; with neither,
// the built-in default holds.
type sipOption struct {
	flag, key, def, usage string
	apply                 func(c *sip.Config, v string)
}

var sipOptions = []sipOption{
	{"guard-max-failures", directory.SettingGuardMaxFailures, "20",
		"failed authentications from one source within --guard-window that ban it",
		func(c *sip.Config, v string) { c.Guard.MaxFailures = atoi(v) }},
	{"guard-window", directory.SettingGuardWindow, "10m", "window in which failures are counted",
		func(c *sip.Config, v string) { c.Guard.Window = duration(v) }},
	{"guard-ban-time", directory.SettingGuardBanTime, "1h", "how long a source ban or extension lock lasts",
		func(c *sip.Config, v string) { c.Guard.BanTime = duration(v) }},
	{"guard-ext-budget", directory.SettingGuardExtBudget, "100",
		"failed verifications of one extension per hour, all sources together; past it only its registered sources are checked",
		func(c *sip.Config, v string) { c.Guard.ExtBudget = atoi(v) }},
	{"guard-flood-requests", directory.SettingGuardFloodRequests, "200",
		"requests one source may send per --guard-flood-window; more are dropped, and a source over it twice in a row is banned",
		func(c *sip.Config, v string) { c.Guard.FloodRequests = atoi(v) }},
	{"guard-flood-window", directory.SettingGuardFloodWindow, "1s", "window of the per-source request limit",
		func(c *sip.Config, v string) { c.Guard.FloodWindow = duration(v) }},
	{"guard-flood-ban-time", directory.SettingGuardFloodBanTime, "10m", "how long a flooding source is banned",
		func(c *sip.Config, v string) { c.Guard.FloodBanTime = duration(v) }},
	{"guard-exempt", directory.SettingGuardExempt, "127.0.0.1/32,::1/128",
		`CIDR networks never banned or rate-limited, comma-separated (e.g. 10.0.0.0/8); "none" for none`,
		func(c *sip.Config, v string) { c.Guard.Exempt = listSetting(v) }},
	{"guard-scanners", directory.SettingGuardScanners, strings.Join(sip.DefaultScannerAgents, ","),
		`User-Agent parts whose requests are dropped unanswered, comma-separated; "none" for none`,
		func(c *sip.Config, v string) { c.Guard.ScannerAgents = listSetting(v) }},
	{"digest-algorithms", directory.SettingDigestAlgorithms, "SHA-256,MD5",
		"digest algorithms offered in challenges, most preferred first (MD5 first or alone for clients that take only the first, such as SIPp)",
		func(c *sip.Config, v string) { c.DigestAlgorithms = directory.SplitList(v) }},
	{"digest-md5-only-agents", directory.SettingDigestMD5Only, strings.Join(sip.DefaultMD5OnlyAgents, ","),
		`User-Agent parts of phones offered MD5 alone, comma-separated; "none" for none`,
		func(c *sip.Config, v string) { c.MD5OnlyAgents = listSetting(v) }},
}

func atoi(v string) int { n, _ := strconv.Atoi(v); return n }

func duration(v string) time.Duration { d, _ := time.ParseDuration(v); return d }

// listSetting reads a list setting (User-Agents, networks): "none" is an empty
// list, which turns the rule off (a nil list would mean the default).
func listSetting(v string) []string {
	l := directory.SplitList(v)
	if len(l) == 1 && strings.EqualFold(l[0], "none") {
		return []string{}
	}
	if l == nil {
		return []string{}
	}
	return l
}

// guardFlags adds the flags of sipOptions.
func (f *flagSet) guardFlags(c *Config) {
	c.SIPOptions = make([]string, len(sipOptions))
	for i, o := range sipOptions {
		f.str(&c.SIPOptions[i], o.flag, "", o.usage+" (default: setting "+o.key+", else "+strconv.Quote(o.def)+")")
	}
}

// validateSIPOptions checks the flags of sipOptions that were given.
func (c *Config) validateSIPOptions(field func(name, msg string)) {
	for i, o := range sipOptions {
		if i >= len(c.SIPOptions) || c.SIPOptions[i] == "" {
			continue
		}
		if err := directory.ValidateSetting(o.key, c.SIPOptions[i]); err != nil {
			msg := err.Error()
			if _, rule, ok := strings.Cut(msg, ": "); ok {
				msg = rule
			}
			field(o.flag, msg)
		}
	}
}

// applySIPOptions fills cfg from this node's flags, else the stored
// settings, else the option's default. A setting the store cannot give, or
// that does not validate (written by hand), is logged and the default kept.
func applySIPOptions(ctx context.Context, cfg *sip.Config, c *Config, st directory.Store, log *slog.Logger) {
	for i, o := range sipOptions {
		v := ""
		if i < len(c.SIPOptions) {
			v = c.SIPOptions[i]
		}
		if v == "" && st != nil {
			sv, err := st.Setting(ctx, o.key)
			if err == nil {
				err = directory.ValidateSetting(o.key, sv)
			}
			if err != nil {
				log.Warn("sip setting not taken; default kept", "key", o.key, "err", err)
				sv = ""
			}
			v = sv
		}
		if v == "" {
			v = o.def
		}
		if v != "" {
			o.apply(cfg, v)
		}
	}
}
