package registry

import (
	"fmt"
	"slices"
	"strings"
)

// An Effect is something a node type does besides computing its outputs
// from its inputs. A type declares its effects in [Spec].Effects, so that
// `flowrun nodes`, `flowrun explain` and the schema show them and a
// [Policy] can refuse them before a flow runs.
type Effect string

// The effects a node type can declare.
const (
	// Exec runs other programs. A program can do anything its user can,
	// so denying any effect refuses a type with Exec (see [Policy]).
	Exec Effect = "exec"
	// Read reads files.
	Read Effect = "read"
	// Write writes files.
	Write Effect = "write"
	// Net uses the network.
	Net Effect = "net"
	// Terminal reads the terminal (standard input, interactively).
	Terminal Effect = "terminal"
)

// AllEffects returns every effect, in the order of documentation.
func AllEffects() []Effect {
	return []Effect{Exec, Read, Write, Net, Terminal}
}

// Known reports whether e is one of [AllEffects].
func (e Effect) Known() bool { return slices.Contains(AllEffects(), e) }

// Describe returns what the effect does, for messages: "runs processes".
func (e Effect) Describe() string {
	switch e {
	case Exec:
		return "runs processes"
	case Read:
		return "reads files"
	case Write:
		return "writes files"
	case Net:
		return "uses the network"
	case Terminal:
		return "reads the terminal"
	}
	return string(e)
}

// ParseEffects parses a comma-separated list of effects, such as
// "exec,write". Spaces around names are ignored; an empty list is none.
func ParseEffects(list string) ([]Effect, error) {
	var out []Effect
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		e := Effect(name)
		if !e.Known() {
			return nil, fmt.Errorf("unknown effect %q: the effects are %s", name, effectList(AllEffects()))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func effectList(es []Effect) string {
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

// A Policy says which effects node types may have. The zero Policy
// allows everything.
type Policy struct {
	// Deny lists effects no type may have.
	Deny []Effect
	// Allow, when not nil, lists the only effects a type may have; a type
	// with no effects is always allowed. An empty non-nil list allows only
	// types without effects. Listing exec allows the types that run
	// processes, although a process can do anything.
	Allow []Effect
}

// IsZero reports whether p allows everything.
func (p Policy) IsZero() bool { return len(p.Deny) == 0 && p.Allow == nil }

// Check returns nil when p allows every effect of s, else an error that
// names the first refused effect, such as `it runs processes (effect
// "exec"), which is denied`. A type with [Exec] is refused when any effect
// is denied, since the programs it runs could have that effect; Allow
// allows it when it lists exec.
func (p Policy) Check(s *Spec) error {
	effects := slices.Clone(s.Effects)
	runs := slices.Contains(s.Effects, Exec)
	if runs {
		for _, e := range AllEffects() {
			if !slices.Contains(effects, e) {
				effects = append(effects, e)
			}
		}
	}
	for _, e := range effects {
		why := ""
		switch {
		case slices.Contains(p.Deny, e):
			why = "denied"
		case p.Allow != nil && !slices.Contains(p.Allow, e) && slices.Contains(s.Effects, e):
			why = "not allowed (only " + effectList(p.Allow) + ")"
			if len(p.Allow) == 0 {
				why = "not allowed (no effect is)"
			}
		default:
			continue
		}
		if !slices.Contains(s.Effects, e) {
			return fmt.Errorf("it runs processes (effect %q), which can do anything, and effect %q is %s", Exec, e, why)
		}
		return fmt.Errorf("it %s (effect %q), which is %s", e.Describe(), e, why)
	}
	return nil
}
