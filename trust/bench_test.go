package trust_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-project/airlock/cache"
	"github.com/airlock-project/airlock/trust"
)

// BenchmarkImportPublicGood: `trust update --from` the real public-good
// snapshot (--at 2026-08-21T20:00:00Z) into a freshly pinned database:
// read the medium, verify the metadata and 11 targets, one bbolt commit.
func BenchmarkImportPublicGood(b *testing.B) {
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		s := openStore(b)
		if _, err := trust.Init(s, trust.PublicGoodName, trust.PublicGoodRoot(), "embedded", realNow); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := processCPU()
		m, err := trust.OpenMedium(snapshotDir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := trust.Update(context.Background(), s, trust.PublicGoodName, m, trust.UpdateOptions{Now: realNow, At: realAt}); err != nil {
			b.Fatal(err)
		}
		trust.CloseMedium(m)
		cpu += processCPU() - c0
	}
	b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkLoadTrust: what a verification does before it starts: open the
// database read-only, re-verify every repository from its anchor, parse
// the trusted roots, apply the age policy, close.
func BenchmarkLoadTrust(b *testing.B) {
	for _, anchor := range []string{"15.root.json", "5.root.json"} {
		b.Run("anchor="+anchor, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "airlock.db")
			db, err := cache.Open(path, cache.Options{})
			if err != nil {
				b.Fatal(err)
			}
			s := dbStore{&cache.TUFStore{DB: db}}
			if _, err := trust.Init(s, "pg", mustRead(snapshotDir+"/"+anchor), "file", realNow); err != nil {
				b.Fatal(err)
			}
			m, _ := trust.OpenDir(snapshotDir)
			if _, err := trust.Update(context.Background(), s, "pg", m, trust.UpdateOptions{Now: realNow, At: realAt}); err != nil {
				b.Fatal(err)
			}
			db.Close()
			cpu := startCPU(b)
			for b.Loop() {
				db, err := cache.Open(path, cache.Options{ReadOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				repos, err := trust.Load(dbStore{&cache.TUFStore{DB: db}}, realNow)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := trust.Select(repos, realNow, trust.DefaultMaxAge); err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
			cpu.report()
		})
	}
}

// cpuMeter reports process CPU time (user+system) per iteration next to
// wall time: on a shared, loaded machine wall time also counts waiting
// for a core.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU(b *testing.B) *cpuMeter { return &cpuMeter{b: b, start: processCPU()} }

func (m *cpuMeter) report() {
	m.b.ReportMetric(float64(processCPU()-m.start)/float64(m.b.N)/1e6, "cpu-ms/op")
}
