package media

import "testing"

func TestSeqTracker(t *testing.T) {
	type pkt struct {
		ssrc uint32
		seq  uint16
	}
	run := func(seqs ...uint16) []pkt {
		var p []pkt
		for _, s := range seqs {
			p = append(p, pkt{1, s})
		}
		return p
	}
	tests := []struct {
		name           string
		pkts           []pkt
		expected, lost uint64
	}{
		{"nothing", nil, 0, 0},
		{"in order", run(10, 11, 12, 13), 4, 0},
		{"a gap", run(10, 11, 14, 15), 6, 2},
		{"reordered", run(10, 12, 11, 13), 4, 0},
		{"reordered across the wrap", run(65534, 0, 65535, 1), 4, 0},
		{"wrap-around with loss", run(65533, 65534, 2, 3), 7, 3},
		{"several wraps", func() []pkt {
			var p []pkt
			for i := range 3 * 65536 {
				if i%100 != 0 {
					p = append(p, pkt{1, uint16(i)})
				}
			}
			return p
		}(), 3*65536 - 1, 3 * 65536 / 100},
		{"duplicates do not hide loss below zero", run(10, 10, 10, 11), 2, 0},
		{"a late packet from before the first", run(10, 9, 11), 2, 0},
		{"a big jump alone is ignored", run(10, 11, 30000, 12, 13), 4, 0},
		{"a big jump confirmed restarts", run(10, 11, 30000, 30001, 30002), 2 + 2, 0},
		{"a new ssrc adds a run", append(run(10, 11, 13), pkt{2, 500}, pkt{2, 501}), 4 + 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seqTracker
			for _, p := range tt.pkts {
				s.update(p.ssrc, p.seq)
			}
			if e, l := s.counts(); e != tt.expected || l != tt.lost {
				t.Errorf("expected %d lost %d, want %d and %d", e, l, tt.expected, tt.lost)
			}
		})
	}
}
