package sip

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := (Config{Addr: "127.0.0.1:0"}).Validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no address", Config{}, "Addr"},
		{"address without port", Config{Addr: "127.0.0.1"}, "Addr"},
		{"port out of range", Config{Addr: "127.0.0.1:70000"}, "Addr"},
		{"bad domain", Config{Addr: ":0", Domain: "pbx example"}, "Domain"},
		{"min above max", Config{Addr: ":0", MinExpires: 2 * time.Hour}, "MinExpires"},
		{"default below min", Config{Addr: ":0", DefaultExpires: 10 * time.Second}, "DefaultExpires"},
		{"sub-second nonce ttl", Config{Addr: ":0", NonceTTL: time.Millisecond}, "NonceTTL"},
		{"negative max failures", Config{Addr: ":0", Guard: GuardConfig{MaxFailures: -1}}, "Guard.MaxFailures"},
		{"bad exempt network", Config{Addr: ":0", Guard: GuardConfig{Exempt: []string{"10.0.0.0/33"}}}, "Guard.Exempt"},
		{"empty scanner entry", Config{Addr: ":0", Guard: GuardConfig{ScannerAgents: []string{" "}}}, "Guard.ScannerAgents"},
		{"tiny message size", Config{Addr: ":0", MaxMessageSize: 10}, "MaxMessageSize"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err %v, want one naming %s", tc.name, err, tc.field)
		}
	}
	err := Config{MinExpires: time.Millisecond, NonceTTL: -1}.Validate()
	for _, f := range []string{"Addr", "MinExpires", "NonceTTL"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("every mistake at once: %v lacks %s", err, f)
		}
	}
}
