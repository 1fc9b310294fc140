package registry

// IdempotencyHeader is the HTTP request header in which nodes that call
// APIs (http.request, llm.chat) send their run's idempotency key, as in
// the IETF draft "The Idempotency-Key HTTP Header Field" and the Stripe
// and OpenAI APIs.
const IdempotencyHeader = "Idempotency-Key"

// A Keyed is an [Inputs] that knows its run's idempotency key. The
// engine's inputs and a cluster worker's are; see [IdempotencyKey].
type Keyed interface {
	// IdempotencyKey returns "<flow run>/<node>/<generation>".
	IdempotencyKey() string
}

// IdempotencyKey returns the idempotency key of the run whose inputs are
// in: "<flow run>/<node id>/<generation>", with the generation counted
// from 0 as [Inputs.Generation] does. It names the run, not the attempt:
// a run retried by the node's retry policy, or delivered again to another
// worker because the one running it died, has the same key, so a node
// with side effects can pass it on to an API that deduplicates by it. It
// returns "" when in does not know it (inputs built outside the engine).
func IdempotencyKey(in Inputs) string {
	if k, ok := in.(Keyed); ok {
		return k.IdempotencyKey()
	}
	return ""
}
