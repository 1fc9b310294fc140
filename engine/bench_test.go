package engine

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// The benchmarks measure the performance targets listed in
// docs/benchmarks.md, which records their figures. Each reports a per-unit cost (ns/run, ns/chunk)
// so that doubling the work shows whether the cost stays linear.

func BenchmarkCycle(b *testing.B) {
	for _, gens := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("generations=%d", gens), func(b *testing.B) {
			flow := newBuilder(b, testRegistry(nil)).
				node("a", "plusone", "x<-b").
				node("b", "plusone", "x=a").
				withDefault("a", "x", 0).
				build()
			b.ReportAllocs()
			for b.Loop() {
				res, err := Run(b.Context(), flow, Options{MaxGenerations: gens})
				if err != nil || res.Generations["b"] != gens {
					b.Fatalf("err %v, generations %v", err, res.Generations)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*gens), "ns/run")
		})
	}
}

func BenchmarkStream(b *testing.B) {
	for _, chunks := range []int{1_000_000, 2_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("chunks=%d", chunks), func(b *testing.B) {
			flow := newBuilder(b, testRegistry(nil)).
				node("src", "count", fmt.Sprintf("n:=%d", chunks)).
				node("reader", "drain", "s=src"). // stream consumer
				node("sum", "identity", "x=src"). // accumulating consumer
				build()
			peak := watchHeap()
			for b.Loop() {
				res, err := Run(b.Context(), flow, Options{})
				if err != nil || res.Final["reader"]["out"] != chunks {
					b.Fatalf("err %v, final %v", err, res.Final)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(chunks), "ns/chunk")
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
		})
	}
}

func BenchmarkChain(b *testing.B) {
	for _, n := range []int{10_000, 20_000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			bl := newBuilder(b, testRegistry(nil)).node("n0", "plusone", "x:=0")
			for i := 1; i < n; i++ {
				bl.node(fmt.Sprintf("n%d", i), "plusone", fmt.Sprintf("x=n%d", i-1))
			}
			flow := bl.build()
			b.ReportAllocs()
			for b.Loop() {
				res, err := Run(b.Context(), flow, Options{})
				if err != nil || res.Final[fmt.Sprintf("n%d", n-1)]["out"] != float64(n) {
					b.Fatalf("err %v", err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/run")
		})
	}
}

// BenchmarkChainResults runs a chain of 100,000 nodes once each, as
// flowrun run --max-generations 1 does on graph's BenchmarkLoad100k
// flow: with the per-node results (Result.Final and Generations) and
// without (Options.NoNodeResults, what the command asks for without
// --print-final). Compare their bytes allocated per run (-benchmem).
func BenchmarkChainResults(b *testing.B) {
	const n = 100_000
	bl := newBuilder(b, testRegistry(nil)).node("n0", "plusone", "x:=0")
	for i := 1; i < n; i++ {
		bl.node(fmt.Sprintf("n%d", i), "plusone", fmt.Sprintf("x=n%d", i-1))
	}
	flow := bl.build()
	for _, noResults := range []bool{false, true} {
		b.Run(fmt.Sprintf("NoNodeResults=%v", noResults), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := Run(b.Context(), flow, Options{MaxGenerations: 1, NoNodeResults: noResults})
				if err != nil || (res.Final == nil) != noResults {
					b.Fatalf("err %v", err)
				}
			}
		})
	}
}

func BenchmarkFanOut(b *testing.B) {
	const consumers = 100
	bl := newBuilder(b, testRegistry(nil)).node("src", "count", "n:=10000")
	for i := range consumers {
		bl.node(fmt.Sprintf("c%d", i), "drain", "s=src")
	}
	flow := bl.build()
	for b.Loop() {
		res, err := Run(b.Context(), flow, Options{})
		if err != nil || res.Final["c99"]["out"] != 10000 {
			b.Fatalf("err %v", err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(10000*consumers), "ns/chunk/conn")
}

// watchHeap samples the live heap until the returned function is called,
// which returns the peak seen.
func watchHeap() func() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak
	}
}
