package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TestMetricsCountWhatHappened runs serve with --metrics-addr, registers a
// phone after one wrong password, sends a request from a scanner, and reads
// the figures back from /metrics as Prometheus would.
func TestMetricsCountWhatHappened(t *testing.T) {
	c := newCLI(t)
	c.ok("", "user", "add", "--name", "Anna Nowak", "--email", "anna@example.com", "--extension", "10001",
		"--ext-password", "k7#Qm2vLx9")

	m := startMain(t, c, "20000-20099", func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	ctx := t.Context()

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("desk-phone"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	host, portStr, _ := strings.Cut(m.SIPAddr(), ":")
	sipPort, _ := strconv.Atoi(portStr)
	target := sip.Uri{Scheme: "sip", Host: host, Port: sipPort}
	register := func(password string) int {
		t.Helper()
		req := sip.NewRequest(sip.REGISTER, target)
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "10001", Host: "switchboard.local"}})
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "10001", Host: "switchboard.local"},
			Params: sip.NewParams()}
		from.Params.Add("tag", sip.GenerateTagN(8))
		req.AppendHeader(from)
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "10001", Host: "127.0.0.1", Port: 5999}})
		req.AppendHeader(sip.NewHeader("Expires", "300"))
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		res, err := client.Do(rctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == sip.StatusUnauthorized {
			if res, err = client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: "10001", Password: password}); err != nil {
				t.Fatal(err)
			}
		}
		return res.StatusCode
	}
	if code := register("wrong-password"); code == sip.StatusOK {
		t.Fatal("a wrong password registered")
	}
	if code := register("k7#Qm2vLx9"); code != sip.StatusOK {
		t.Fatalf("register: %d", code)
	}
	scanner := sip.NewRequest(sip.OPTIONS, target)
	scanner.AppendHeader(sip.NewHeader("User-Agent", "friendly-scanner"))
	if err := client.WriteRequest(scanner); err != nil {
		t.Fatal(err)
	}

	url := fmt.Sprintf("http://%s/metrics", m.metrics.Addr())
	want := map[string]float64{
		`switchboard_sip_auth_failures_total`:                                  1,
		`switchboard_sip_bindings`:                                             1,
		`switchboard_sip_registered_extensions`:                                1,
		`switchboard_sip_requests_dropped_total{reason="scanner"}`:             1,
		`switchboard_store_up`:                                                 1,
		`switchboard_calls_active`:                                             0,
		`switchboard_history_writes_held`:                                      0,
		`switchboard_rtp_port_pairs`:                                           50,
		`switchboard_rtp_port_pairs_free`:                                      50,
		`switchboard_rtp_packets_rejected_total`:                               0,
		`switchboard_rtp_relay_received_total`:                                 0,
		`switchboard_rtp_relay_buffer_shortages_total`:                         0,
		`switchboard_rtp_relay_dropped_total{reason="send_error"}`:             0,
		`switchboard_call_setup_delay_seconds_count{step="route"}`:             0,
		`switchboard_call_setup_delay_seconds_bucket{step="answer",le="0.02"}`: 0,
	}
	// The scanner's request is dropped by the server on its own time: read
	// until it is counted (a counter that never comes fails by -timeout).
	var body string
	for {
		body = scrape(t, url)
		if metricValue(body, `switchboard_sip_requests_dropped_total{reason="scanner"}`) == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, v := range want {
		if got := metricValue(body, name); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	// Two REGISTERs answered with a challenge and two with digests.
	if got := metricValue(body, `switchboard_sip_requests_total{method="REGISTER"}`); got != 4 {
		t.Errorf("REGISTER requests = %v, want 4", got)
	}
	if metricValue(body, "go_goroutines") <= 0 || metricValue(body, "process_resident_memory_bytes") <= 0 {
		t.Error("runtime and process metrics missing")
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// metricValue finds one sample in the text exposition format; -1 when it
// is absent.
func metricValue(body, name string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}
