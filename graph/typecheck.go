package graph

// checkConnections reports every connection whose producer's declared
// output type can never be accepted by the consumer's declared input type,
// such as a string output into a number input, at the input's position.
// An output or input of type any matches everything, and a number may be
// whole, so number and integer match each other. It is a pass of its own,
// run once the references resolved.
func checkConnections(flow *Flow, errs *ErrorList) {
	for _, n := range flow.Nodes {
		for _, b := range n.Inputs {
			if b.Kind != Connected || b.From.Node == nil {
				continue
			}
			outs := b.From.Node.Outputs()
			if b.From.Index < 0 || b.From.Index >= len(outs) {
				continue
			}
			out := outs[b.From.Index]
			if out.Type.CanFeed(b.Spec.Type) {
				continue
			}
			errs.Add(b.Pos, "input %q of node %q (%s) takes %s, but %s (%s) gives %s: "+
				"connect an output of that type, or convert the value on the way (with expr, for example)",
				b.Name, n.ID, n.Type, typeName(string(b.Spec.Type)), quote(b.From.String()), b.From.Node.Type, typeName(string(out.Type)))
		}
	}
}
