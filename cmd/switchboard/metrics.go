package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip"
)

// pbxCollector turns a snapshot of the running PBX into Prometheus metrics
// at each scrape: nothing is counted twice and nothing is kept here.
type pbxCollector struct {
	sip   *sip.Server
	store directory.Store

	requests, dropped, authFailures, calls                   *prometheus.Desc
	bindings, extensions, activeCalls, bans, portsFree       *prometheus.Desc
	portsTotal, heldWrites, trunkRegistered, storeUp, uptime *prometheus.Desc
	rtpRejected, rtpReceived, rtpForwarded, rtpDropped       *prometheus.Desc
	rtpNoBuffers                                             *prometheus.Desc
	historyHeld, setupDelay                                  *prometheus.Desc
	started                                                  time.Time
}

func newPBXCollector(s *sip.Server, st directory.Store) *pbxCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("switchboard_"+name, help, labels, nil)
	}
	return &pbxCollector{sip: s, store: st, started: time.Now(),
		requests:     d("sip_requests_total", "SIP requests admitted, by method.", "method"),
		dropped:      d("sip_requests_dropped_total", "SIP requests dropped unanswered, by reason (banned, scanner).", "reason"),
		authFailures: d("sip_auth_failures_total", "Digest authentications that failed (REGISTER and INVITE)."),
		calls:        d("calls_total", "Finished call attempts, by direction and disposition.", "direction", "disposition"),
		bindings:     d("sip_bindings", "Current registrations (contacts) of all nodes."),
		extensions:   d("sip_registered_extensions", "Extensions with at least one current registration."),
		activeCalls:  d("calls_active", "Calls in progress on this node."),
		bans:         d("sip_bans", "Source bans and extension locks in force."),
		portsFree:    d("rtp_port_pairs_free", "RTP/RTCP port pairs free in the pool."),
		portsTotal:   d("rtp_port_pairs", "RTP/RTCP port pairs in the pool."),
		rtpRejected:  d("rtp_packets_rejected_total", "RTP/RTCP datagrams the relay dropped: not from the leg's phone, or still on probation."),
		rtpReceived:  d("rtp_relay_received_total", "RTP/RTCP datagrams the relay read from its sockets."),
		rtpForwarded: d("rtp_relay_forwarded_total", "RTP/RTCP datagrams the relay handed to the kernel to send on."),
		rtpNoBuffers: d("rtp_relay_buffer_shortages_total", "Times an io_uring read of the relay found none of its poller's buffers free: "+
			"nothing is lost by itself, datagrams wait in their sockets (see receive_queue drops)."),
		rtpDropped: d("rtp_relay_dropped_total", "RTP/RTCP datagrams lost in the relay, by reason: no_destination, send_error, ring_full, srtp, "+
			"receive_queue (dropped by the kernel on a relay socket's full receive queue).", "reason"),
		heldWrites:      d("sip_binding_writes_held", "Binding writes held while the database does not answer."),
		trunkRegistered: d("trunk_registered", "1 when the registration to the carrier is in force, else 0.", "trunk"),
		storeUp:         d("store_up", "1 when the database answered a ping during this scrape, else 0."),
		uptime:          d("uptime_seconds", "Seconds since this process started serving."),
		historyHeld:     d("history_writes_held", "Call history and recording writes held while the database does not take them."),
		setupDelay: d("call_setup_delay_seconds", "The PBX's own share of call setups over UDP, by step: route, from the caller's INVITE "+
			"to the first INVITE to a callee; answer, from the callee's 2xx to the caller's.", "step"),
	}
}

func (c *pbxCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *pbxCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.sip.Metrics()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for method, n := range m.Requests {
		counter(c.requests, n, method)
	}
	for reason, n := range m.Dropped {
		counter(c.dropped, n, reason)
	}
	counter(c.authFailures, m.AuthFailures)
	for k, n := range m.Calls {
		counter(c.calls, n, string(k.Direction), string(k.Disposition))
	}
	gauge(c.bindings, float64(m.Bindings))
	gauge(c.extensions, float64(m.Extensions))
	gauge(c.activeCalls, float64(m.ActiveCalls))
	gauge(c.bans, float64(m.Bans))
	gauge(c.portsFree, float64(m.RTPPortsFree))
	gauge(c.portsTotal, float64(m.RTPPortsTotal))
	counter(c.rtpRejected, m.RTPRejected)
	r := m.RTPRelay
	counter(c.rtpReceived, r.Received)
	counter(c.rtpForwarded, r.Forwarded)
	counter(c.rtpNoBuffers, r.NoBuffers)
	counter(c.rtpDropped, r.NoDestination, "no_destination")
	counter(c.rtpDropped, r.SendErrors, "send_error")
	counter(c.rtpDropped, r.RingFull, "ring_full")
	counter(c.rtpDropped, r.SRTPErrors, "srtp")
	counter(c.rtpDropped, r.RecvOverflow, "receive_queue")
	gauge(c.heldWrites, float64(m.HeldWrites))
	histogram := func(d *prometheus.Desc, h sip.DelaySnapshot, labels ...string) {
		buckets := make(map[float64]uint64, len(h.Cumulative))
		for i, n := range h.Cumulative {
			buckets[sip.DelayBounds[i].Seconds()] = n
		}
		ch <- prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets, labels...)
	}
	histogram(c.setupDelay, m.SetupRoute, "route")
	histogram(c.setupDelay, m.SetupAnswer, "answer")
	gauge(c.historyHeld, float64(c.sip.HistoryWritesHeld()))
	for _, t := range c.sip.TrunkRegistrations() {
		up := 0.0
		if t.State == sip.TrunkRegistered {
			up = 1
		}
		gauge(c.trunkRegistered, up, t.Trunk)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	up := 1.0
	if err := c.store.Ping(ctx); err != nil {
		up = 0
	}
	gauge(c.storeUp, up)
	gauge(c.uptime, time.Since(c.started).Seconds())
}

// metricsHandler serves /metrics: the PBX's own metrics and the Go
// runtime's and process's.
func metricsHandler(s *sip.Server, st directory.Store) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newPBXCollector(s, st),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	return mux
}

// serveMetrics serves the metrics on ln until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
