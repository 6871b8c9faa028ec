package dial

import (
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/route"
)

func TestPick(t *testing.T) {
	busy := func(ext string) bool { return ext == "10002" }
	rt := &route.Route{Targets: []route.Target{{Ext: "10001"}, {Ext: "10002"}, {Ext: "10003"}}}
	ring, spare := Pick(rt, busy)
	if got := Exts(ring); !slices.Equal(got, []string{"10001", "10003"}) || spare != nil {
		t.Errorf("phones: ring %v, spare %v; want 10001 and 10003 at once", got, Exts(spare))
	}
	rt = &route.Route{Failover: true, Targets: []route.Target{{Dest: "a:5060"}, {Dest: "b:5060"}, {Dest: "c:5060"}}}
	ring, spare = Pick(rt, busy)
	if len(ring) != 1 || ring[0].Dest != "a:5060" || len(spare) != 2 {
		t.Errorf("trunks: ring %v, spare %v; want the first now and two spare", ring, spare)
	}
}

func failed(codes ...int) []*Fork {
	var forks []*Fork
	for _, c := range codes {
		forks = append(forks, &Fork{Final: &sip.Response{StatusCode: c, Reason: "failed"}})
	}
	return forks
}

func TestBestFailure(t *testing.T) {
	for _, tc := range []struct {
		codes []int
		code  int
		disp  directory.Disposition
	}{
		{nil, 480, directory.Unavailable},
		{[]int{404, 486}, 486, directory.Busy},
		{[]int{486, 603}, 603, directory.Busy},
		{[]int{408, 500}, 480, directory.NoAnswer},
		{[]int{503, 403}, 403, directory.Failed},
		{[]int{487}, 480, directory.NoAnswer},
	} {
		code, _, disp := BestFailure(failed(tc.codes...))
		if code != tc.code || disp != tc.disp {
			t.Errorf("BestFailure(%v) = %d %s, want %d %s", tc.codes, code, disp, tc.code, tc.disp)
		}
	}
}

func TestFailoverStatus(t *testing.T) {
	for code, next := range map[int]bool{408: true, 500: true, 503: true, 404: false, 486: false, 603: false} {
		if failoverStatus(code) != next {
			t.Errorf("failoverStatus(%d) = %v, want %v", code, !next, next)
		}
	}
}
