package rekorv2_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/airlock-project/airlock/tlog/rekorv2"
	"github.com/airlock-project/airlock/tlog/rekorv2/rekortest"
)

// BenchmarkSubmit times Submit (the POST, the server's batching and
// checkpoint, the response checks) against a real rekor-tiles server on
// loopback. One op is one batch of conc concurrent submissions; entries/s
// and ms/batch are reported. The server's --checkpoint-interval and
// --batch-max-age set the latency: a Submit returns once its entry is in a
// published checkpoint, and it looks for one once a second.
//
//	go test ./tlog/rekorv2 -run '^$' -bench Submit -benchtime 5x
func BenchmarkSubmit(b *testing.B) {
	settings := []rekortest.Options{
		{CheckpointInterval: time.Second},            // age 250 ms (default)
		{CheckpointInterval: 100 * time.Millisecond}, // age 250 ms (default)
		{CheckpointInterval: 100 * time.Millisecond, BatchMaxAge: 10 * time.Millisecond},
	}
	for _, o := range settings {
		age := o.BatchMaxAge
		if age == 0 {
			age = 250 * time.Millisecond
		}
		for _, conc := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("checkpoint=%s/age=%s/conc=%d", o.CheckpointInterval, age, conc), func(b *testing.B) {
				benchSubmit(b, o, conc)
			})
		}
	}
}

func benchSubmit(b *testing.B, o rekortest.Options, conc int) {
	srv := rekortest.Start(b, o)
	s := newSigner(b)
	reqs := make([]*rekorv2.Request, b.N*conc)
	for i := range reqs {
		reqs[i], _ = s.hashedRekord(b, fmt.Appendf(nil, "artifact %d", i))
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for n := range b.N {
		var wg sync.WaitGroup
		errs := make(chan error, conc)
		for i := range conc {
			wg.Add(1)
			go func(req *rekorv2.Request) {
				defer wg.Done()
				if _, err := rekorv2.Submit(ctx, srv.URL, req, srv.LogKey, srv.Origin); err != nil {
					errs <- err
				}
			}(reqs[n*conc+i])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(b.N*conc)/el.Seconds(), "entries/s")
	b.ReportMetric(float64(el.Milliseconds())/float64(b.N), "ms/batch")
}

// BenchmarkCheck times the response checks alone, on one real response.
func BenchmarkCheck(b *testing.B) {
	srv := rekortest.Start(b, rekortest.Options{})
	s := newSigner(b)
	req, _ := s.hashedRekord(b, []byte("hello.tgz"))
	tle := submit(b, srv, req)
	for b.Loop() {
		if err := rekorv2.Check(tle, req, srv.LogKey, srv.Origin); err != nil {
			b.Fatal(err)
		}
	}
}
