package guard

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
)

func testGuard(registered ...string) (*Guard, *clock.Manual) {
	clk := clock.NewManual()
	reg := map[netip.Addr]bool{}
	for _, r := range registered {
		reg[netip.MustParseAddr(r)] = true
	}
	cfg := Config{}.WithDefaults()
	cfg.MaxFailures, cfg.MaxExtFailures, cfg.Window, cfg.BanTime = 3, 5, time.Minute, 10*time.Minute
	cfg.Exempt = []string{"10.9.0.0/16"}
	return New(cfg, clk, slog.New(slog.DiscardHandler), func(ip netip.Addr) bool { return reg[ip] }, nil), clk
}

func TestGuardBansSourceAndLiftsBan(t *testing.T) {
	g, clk := testGuard()
	ip := netip.MustParseAddr("203.0.113.7")
	for i := range 3 {
		if g.Banned(ip) {
			t.Fatalf("banned after %d failures", i)
		}
		g.Fail(ip, "10001")
	}
	if !g.Banned(ip) {
		t.Fatal("not banned after 3 failures")
	}
	bans := g.Bans()
	if len(bans) != 1 || bans[0].Source != "203.0.113.7" || bans[0].Extension != "" || bans[0].Failures != 3 {
		t.Fatalf("bans %+v", bans)
	}
	clk.Advance(10 * time.Minute)
	if g.Banned(ip) {
		t.Error("still banned after the ban time")
	}
	if len(g.Bans()) != 0 {
		t.Error("expired ban still listed")
	}
	// The counter started over.
	g.Fail(ip, "10001")
	if g.Banned(ip) {
		t.Error("banned again after one failure")
	}
}

func TestGuardWindow(t *testing.T) {
	g, clk := testGuard()
	ip := netip.MustParseAddr("203.0.113.7")
	g.Fail(ip, "10001")
	g.Fail(ip, "10001")
	clk.Advance(time.Minute)
	g.Fail(ip, "10001")
	if g.Banned(ip) {
		t.Error("failures of an old window counted")
	}
}

// An office behind one public IP: a phone there is registered, another
// keeps failing on its own extension. The office is not banned; only that
// extension is locked for the office's IP.
func TestGuardSparesRegisteredSource(t *testing.T) {
	office := "198.51.100.20"
	g, _ := testGuard(office)
	ip := netip.MustParseAddr(office)
	for range 10 {
		g.Fail(ip, "10002")
	}
	if g.Banned(ip) {
		t.Fatal("a source with a current registration was banned for another extension's failures")
	}
	if !g.Locked(ip, "10002") {
		t.Error("the failing extension is not locked for the source")
	}
	if g.Locked(ip, "10001") {
		t.Error("the registered extension got locked")
	}
	bans := g.Bans()
	if len(bans) != 1 || bans[0].Extension != "10002" || bans[0].Source != office {
		t.Errorf("bans %+v", bans)
	}
}

// A distributed attack on one extension: many sources, each under the
// source limit. Once the extension is under attack, each failing source is
// locked out of it, while a source that does not fail keeps using it.
func TestGuardExtensionUnderAttack(t *testing.T) {
	g, _ := testGuard()
	for i := range 5 {
		g.Fail(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), "10001")
	}
	if !g.Locked(netip.MustParseAddr("203.0.113.4"), "10001") {
		t.Error("source failing on an extension under attack not locked")
	}
	for i := range 4 {
		if g.Banned(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})) {
			t.Error("a source banned for 1 failure")
		}
	}
	if g.Locked(netip.MustParseAddr("192.0.2.1"), "10001") {
		t.Error("a source that never failed is locked")
	}
	g.Fail(netip.MustParseAddr("203.0.113.200"), "10001")
	if !g.Locked(netip.MustParseAddr("203.0.113.200"), "10001") {
		t.Error("a new source failing on the attacked extension is not locked")
	}
}

func TestGuardExemptAndUnban(t *testing.T) {
	g, _ := testGuard()
	ex := netip.MustParseAddr("10.9.1.1")
	for range 10 {
		g.Fail(ex, "10001")
	}
	if g.Banned(ex) || g.Locked(ex, "10001") {
		t.Error("exempt source banned")
	}
	ip := netip.MustParseAddr("::ffff:203.0.113.9") // mapped form is the same source
	for range 3 {
		g.Fail(ip, "10001")
	}
	if !g.Banned(netip.MustParseAddr("203.0.113.9")) {
		t.Fatal("not banned")
	}
	if !g.Unban(netip.MustParseAddr("203.0.113.9")) || g.Banned(ip) {
		t.Error("Unban did not lift the ban")
	}
}

func TestGuardBounded(t *testing.T) {
	g, clk := testGuard()
	g.cfg.MaxTracked = 100
	for i := range 1000 {
		g.Fail(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), "x")
	}
	if len(g.src) > 100 || len(g.pair) > 100 {
		t.Errorf("tracked %d sources and %d pairs, limit 100", len(g.src), len(g.pair))
	}
	clk.Advance(time.Minute)
	g.Sweep()
	if len(g.src)+len(g.pair)+len(g.ext) != 0 {
		t.Error("counters of a past window kept after Sweep")
	}
}

func TestScannerAgent(t *testing.T) {
	for ua, want := range map[string]bool{
		"friendly-scanner": true, "Friendly-Scanner 1.0": true, "sipvicious": true, "SIPVicious/0.3": true,
		"sipcli/v1.8": true, "Yealink SIP-T46S 66.86.0.15": false, "": false, "baresip v1.0.0 (x86_64/linux)": false,
	} {
		if got := MatchAgent(ua, DefaultScannerAgents); got != want {
			t.Errorf("%q: %v, want %v", ua, got, want)
		}
		if got := MatchAgent([]byte(ua), DefaultScannerAgents); got != want {
			t.Errorf("%q as bytes: %v, want %v", ua, got, want)
		}
	}
	// Longer than the stack buffer: the folding search.
	long := strings.Repeat("x", 300)
	if !MatchAgent(long+"SIPVicious", DefaultScannerAgents) || MatchAgent(long+"Yealink", DefaultScannerAgents) {
		t.Error("a long User-Agent matched wrongly")
	}
	if n := testing.AllocsPerRun(100, func() { MatchAgent([]byte("Yealink SIP-T46S 66.86.0.15"), DefaultScannerAgents) }); n != 0 {
		t.Errorf("MatchAgent allocated %v times", n)
	}
}

func BenchmarkMatchAgent(b *testing.B) {
	ua := []byte("sipp-bench (baresip-compatible: MD5 only)")
	for b.Loop() {
		MatchAgent(ua, DefaultScannerAgents)
	}
}

// What the guard learns from the store: bans of exempt networks are not
// applied, a ban held keeps the later expiry, and a reset (a lift
// elsewhere) keeps bans of this node still waiting for the store.
func TestGuardLearnAndReset(t *testing.T) {
	g, clk := testGuard()
	now := clk.Now()
	g.learn([]directory.Ban{
		{Source: "10.9.1.1", Expires: now.Add(time.Hour), Node: "node-b"},             // exempt
		{Source: "203.0.113.5", Expires: now.Add(time.Hour), Node: "node-b"},          // applied
		{Source: "203.0.113.6", Expires: now, Node: "node-b"},                         // expired
		{Source: "203.0.113.5", Extension: "10001", Expires: now.Add(time.Hour)},      // a lock
		{Source: "::ffff:203.0.113.7", Expires: now.Add(time.Minute), Node: "node-a"}, // mapped
	}, "node-a")
	if g.Banned(netip.MustParseAddr("10.9.1.1")) || !g.Banned(netip.MustParseAddr("203.0.113.5")) ||
		g.Banned(netip.MustParseAddr("203.0.113.6")) || !g.Banned(netip.MustParseAddr("203.0.113.7")) ||
		!g.Locked(netip.MustParseAddr("203.0.113.5"), "10001") {
		t.Fatalf("learnt %+v", g.Bans())
	}
	if len(g.takePending()) != 0 {
		t.Error("bans from the store queued to be written back")
	}
	g.learn([]directory.Ban{{Source: "203.0.113.5", Expires: now.Add(time.Minute)}}, "node-a")
	for _, b := range g.Bans() {
		if b.Source == "203.0.113.5" && b.Extension == "" && (!b.Until.Equal(now.Add(time.Hour)) || b.Node != "node-b") {
			t.Errorf("a shorter ban replaced a longer one: %+v", b)
		}
	}

	// 203.0.113.8 is banned here and not yet written when a lift of it
	// elsewhere arrives: it stays. 203.0.113.5 is lifted.
	ip := netip.MustParseAddr("203.0.113.8")
	for range 3 {
		g.Fail(ip, "10002")
	}
	g.reset(netip.MustParseAddr("203.0.113.5"), nil, "node-a")
	g.reset(ip, nil, "node-a")
	if g.Banned(netip.MustParseAddr("203.0.113.5")) || g.Locked(netip.MustParseAddr("203.0.113.5"), "10001") {
		t.Error("lifted elsewhere, still banned here")
	}
	if !g.Banned(ip) {
		t.Error("a ban waiting for the store was lifted by an older lift")
	}
	if p := g.takePending(); len(p) != 1 || p[0].Source != "203.0.113.8" {
		t.Errorf("pending %+v", p)
	}
}

func TestParseNets(t *testing.T) {
	got, err := ParseNets([]string{"192.168.1.7/24", "10.0.0.1", " ", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.168.1.0/24", "10.0.0.1/32", "2001:db8::/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%d: %v, want %s", i, got[i], want[i])
		}
	}
	if _, err := ParseNets([]string{"office"}); err == nil {
		t.Error("a name accepted as a network")
	}
}
