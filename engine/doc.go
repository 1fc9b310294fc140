// Package engine runs a loaded flow: it decides, by Flowno's generation
// rule, which node runs next, runs nodes concurrently on goroutines, moves
// values and stream chunks between them, and ends the flow when nothing is
// left to run, a node stops it, a limit is reached or a node fails.
package engine
