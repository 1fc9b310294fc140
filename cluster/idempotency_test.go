package cluster_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/engine"
)

// TestRedeliveredRunSendsTheSameIdempotencyKey runs an http.request on a
// worker that is stopped hard while the request is in flight: the task is
// redelivered to a second worker, which sends the request again with the
// same Idempotency-Key, the run's <run>/<node>/<generation>.
func TestRedeliveredRunSendsTheSameIdempotencyKey(t *testing.T) {
	url := server(t)
	first := make(chan struct{})
	var mu sync.Mutex
	var keys []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server see the client go away.
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		if n == 1 {
			close(first)
			<-r.Context().Done() // the first worker goes away mid-request
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `"paid"`)
	}))
	defer api.Close()

	w1 := startWorker(t, url, "w1", nil)
	ex, _ := newExecutor(t, url)
	defer ex.Close()
	flow := load(t, builtins(t), fmt.Sprintf(`version: 1
nodes:
  pay:
    type: http.request
    with: {url: %q, method: POST, body: {amount: 5}}
`, api.URL))
	if err := ex.WaitForWorkers(t.Context(), flow, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		res *engine.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := engine.Run(t.Context(), flow, engine.Options{Executor: ex, RunID: ex.RunID()})
		done <- outcome{res, err}
	}()
	<-first
	w2 := startWorker(t, url, "w2", nil).w
	// w1 drains, then cancels the request in flight: the task goes back.
	w1.stop()
	<-w1.done
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	if got := o.res.Final["pay"]["out"]; got != "paid" {
		t.Errorf("pay.out = %v, want paid", got)
	}
	if w2.Executed() != 1 {
		t.Errorf("the second worker ran %d runs, want 1", w2.Executed())
	}
	want := ex.RunID() + "/pay/0"
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 || keys[0] != want || keys[1] != want {
		t.Errorf("Idempotency-Key of the two requests: %q, want %q twice", keys, want)
	}
}
