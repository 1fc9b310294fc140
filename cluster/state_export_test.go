package cluster

// SetCrashHook makes w behave, in tests, as if it died at a point of a
// stateful node's run ("before-state": after the run, before its state is
// recorded; "after-state": after the state is recorded, before the result
// is published) whenever crash returns true.
func SetCrashHook(w *Worker, crash func(point, node string, gen int) bool) {
	w.crash = func(point string, t *task) bool { return crash(point, t.Node, t.Gen) }
}

// StateCounts returns how many redelivered runs of stateful nodes w
// answered with their recorded result, and how many it dropped as stale.
func StateCounts(w *Worker) (replays, stale int64) { return w.replays.Load(), w.stale.Load() }
