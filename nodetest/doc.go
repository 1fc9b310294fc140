// Package nodetest runs one node type in-process, without a flow or an
// engine, so that a node type's test is a few lines: build the node with
// [Build] or [New], run it with [Node.Run] on value inputs and stream inputs
// ([Chunks], [Chan]), and inspect the [Result]: the values Set, the chunks
// emitted, the final value of every output (the accumulation rule applied to
// outputs never Set) and which stream inputs the node cancelled.
//
// Building a node does what the loader and the engine do: parameters not
// given take their defaults, Spec.Check and Spec.New see the same
// [registry.Config] as in a flow. Running it checks the run-time contract
// of package registry and fails the test on a breach: a value that is not
// JSON-shaped, an output the type does not declare, a value not of the
// output's declared type, Emit from a type that does not stream, or an
// input value the node modified.
//
// A test of a type "greet.hello" with a parameter "greeting":
//
//	func TestHello(t *testing.T) {
//		spec := helloSpec() // the registry.Spec
//		n := nodetest.New(t, &spec, nodetest.Setup{Params: map[string]any{"greeting": "Hi"}})
//		res := n.Run(t, nodetest.In{Values: map[string]any{"name": "Ada"}})
//		if res.Err != nil || res.Out() != "Hi, Ada!" {
//			t.Fatalf("got %v, %v", res.Out(), res.Err)
//		}
//	}
//
// A streaming input is fed with nodetest.In{Streams: map[string]*nodetest.Source{"s":
// nodetest.Chunks("a", "b")}}; a stateful type is run several times on
// the same [Node].
//
// [CheckDocs] verifies that every type in a registry is documented and has
// a well-formed YAML example.
package nodetest
