// Package cluster runs a flow's node runs on worker processes through NATS
// JetStream: the coordinator (the process running the flow) keeps every
// scheduling decision in its engine and ships node runs, through an
// [engine.Executor], to a work-queue stream that workers consume.
//
// Subjects (run is a random id per flow run, token a subject-safe form of
// a node id or type):
//
//	flowrun.task.<run>.<type>                 FLOWRUN_TASKS, work queue, one durable consumer per type
//	flowrun.result.<run>.<node>.<gen>.<try>   FLOWRUN_RESULTS, one message per subject
//	flowrun.chunk.<run>.<node>.<gen>.<try>    core: a streamed run's chunks
//	flowrun.credit.<run>.<node>.<gen>.<try>.<attempt>  core: the coordinator's credit window
//	flowrun.in.<run>.<node>.<gen>.<try>.<attempt>  core: chunks relayed to a stream input on a worker
//	flowrun.incredit.<run>.<node>.<gen>.<try>  core: that attempt's credit window and cancel
//	flowrun.cancel.<run>                      core: cancel one run's node runs, or all
//
// Workers announce the node types they serve in the KV bucket
// flowrun_workers (entries expire when a worker stops heartbeating), so a
// coordinator refuses to start a flow that no worker can serve instead of
// hanging.
//
// Stateful nodes whose type saves its state (registry.StateMarshaler) may
// run on workers: their state lives in the KV bucket flowrun_state under
// the key <run>.<node>, as a record of the (generation, try) that wrote
// it, the state after that run and the run's result. A worker reads the
// record, runs the node on that state, writes the new record by
// compare-and-set on the revision it read, then publishes the result; a
// redelivered run whose record is there publishes the recorded result
// instead of running again (state.go). The coordinator purges its run's
// keys at the end.
//
// The embedded server ([StartServer]) lives in this package so that the
// engine, the registry and the loader do not link the NATS server.
package cluster
