package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/flowrun/flowrun/internal/regmemo"
)

var (
	typeNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	portNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// A Registry maps type names to node type declarations. The zero value is
// not usable; create one with [New]. A Registry is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	specs   map[string]*Spec
	version int // counts registrations, to tell outdated memos
	memo    map[any]memo
	// refused maps the types left out by a Policy to the reason.
	refused map[string]string
}

type memo struct {
	version int
	value   any
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{specs: make(map[string]*Spec)}
}

// Register adds a node type. It checks the declaration: the type name must
// be lower-case dotted words, input and output names unique identifiers,
// defaults and enums of the declared JSON type, and New set. Registering a
// name twice is an error. The registry keeps a copy of s: changing the
// slices or default values passed in afterwards does not change it.
func (r *Registry) Register(s Spec) error {
	if err := validateSpec(&s); err != nil {
		return err
	}
	s = *s.clone()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.specs[s.Type]; dup {
		return fmt.Errorf("register %q: type already registered", s.Type)
	}
	r.specs[s.Type] = &s
	r.version++
	return nil
}

// Refuse records that the type named typ exists but is refused in this
// registry, for reason (a phrase such as `it runs processes (effect
// "exec"), which is denied`): Lookup does not find it, and the loader
// reports the reason where a flow uses it. A registered type of that name
// is removed.
func (r *Registry) Refuse(typ, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refused == nil {
		r.refused = map[string]string{}
	}
	r.refused[typ] = reason
	if _, ok := r.specs[typ]; ok {
		delete(r.specs, typ)
		r.version++
	}
}

// Refused returns the reason the named type is refused, and whether it is.
func (r *Registry) Refused(typ string) (reason string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	reason, ok = r.refused[typ]
	return reason, ok
}

// RegisterAllowed registers s when p allows its effects, and otherwise
// records it as refused (see [Registry.Refuse]).
func (r *Registry) RegisterAllowed(s Spec, p Policy) error {
	if err := p.Check(&s); err != nil {
		if verr := validateSpec(&s); verr != nil {
			return verr
		}
		r.Refuse(s.Type, err.Error())
		return nil
	}
	return r.Register(s)
}

// Restrict returns a new registry holding the types of r that p allows;
// the others are refused in it, with the reason. Types refused in r stay
// refused.
func (r *Registry) Restrict(p Policy) *Registry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := New()
	for typ, reason := range r.refused {
		out.Refuse(typ, reason)
	}
	for typ, s := range r.specs {
		if err := p.Check(s); err != nil {
			out.Refuse(typ, err.Error())
			continue
		}
		out.specs[typ] = s
	}
	return out
}

func init() {
	regmemo.Memo = func(reg, key any, build func() (any, error)) (any, error) {
		return reg.(*Registry).memoize(key, build)
	}
}

// memoize returns the value cached under key, computing it with build
// when there is none or when types were registered since it was built
// (see [regmemo.Memo]).
func (r *Registry) memoize(key any, build func() (any, error)) (any, error) {
	r.mu.RLock()
	m, ok := r.memo[key]
	version := r.version
	r.mu.RUnlock()
	if ok && m.version == version {
		return m.value, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.memo == nil {
		r.memo = make(map[any]memo)
	}
	r.memo[key] = memo{version: version, value: v}
	return v, nil
}

// MustRegister is like Register but panics on error. Use it only while a
// program starts.
func (r *Registry) MustRegister(s Spec) {
	if err := r.Register(s); err != nil {
		panic(err)
	}
}

// Lookup returns a copy of the declaration of the named type: changing
// it does not change the registry.
func (r *Registry) Lookup(typ string) (*Spec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.specs[typ]
	if !ok {
		return nil, false
	}
	return s.clone(), true
}

// clone returns a copy of s that shares no slice, map or default value
// with it.
func (s *Spec) clone() *Spec {
	c := *s
	c.Inputs = slices.Clone(s.Inputs)
	for i := range c.Inputs {
		c.Inputs[i] = c.Inputs[i].clone()
	}
	c.Outputs = slices.Clone(s.Outputs)
	c.Effects = slices.Clone(s.Effects)
	if s.Variadic != nil {
		v := s.Variadic.clone()
		c.Variadic = &v
	}
	return &c
}

// clone returns a copy of in that shares no enum or default value with it.
func (in Input) clone() Input {
	in.Default = CopyValue(in.Default)
	if in.Enum != nil {
		enum := make([]any, len(in.Enum))
		for i, e := range in.Enum {
			enum[i] = CopyValue(e)
		}
		in.Enum = enum
	}
	return in
}

// CopyValue returns a deep copy of a JSON-like value: lists and objects
// are copied, other values returned as they are. Node types and tests use
// it to keep a value they must not share with the value's owner.
func CopyValue(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = CopyValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = CopyValue(e)
		}
		return out
	}
	return v
}

// ExactNumbers returns v, a JSON-shaped value, ready to be encoded with
// encoding/json so that [FromJSONNumbers] gives back the same Go types:
// a whole float64 becomes a json.Number with an exponent (4e+00), which
// decodes as a float64, not as an int. Lists and objects are copied; v
// itself is not changed.
func ExactNumbers(v any) any {
	switch v := v.(type) {
	case float64:
		if v == math.Trunc(v) && !math.IsInf(v, 0) {
			return json.Number(strconv.FormatFloat(v, 'e', -1, 64))
		}
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = ExactNumbers(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = ExactNumbers(e)
		}
		return out
	}
	return v
}

// FromJSONNumbers replaces the json.Numbers in v, a value decoded with
// json.Decoder.UseNumber, by the Go types flowrun's values use: an
// integer that fits an int becomes an int, any other number a float64.
// Lists and objects are changed in place.
func FromJSONNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 0); err == nil {
			return int(i)
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i, e := range v {
			v[i] = FromJSONNumbers(e)
		}
	case map[string]any:
		for k, e := range v {
			v[k] = FromJSONNumbers(e)
		}
	}
	return v
}

// Types returns the registered type names, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.specs))
	for name := range r.specs {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func validateSpec(s *Spec) error {
	if !typeNamePattern.MatchString(s.Type) {
		return fmt.Errorf("register %q: type name must be lower-case dotted words such as \"math.inc\"", s.Type)
	}
	if s.New == nil {
		return fmt.Errorf("register %q: New is nil", s.Type)
	}
	if len(s.Outputs) == 0 {
		return fmt.Errorf("register %q: a type needs at least one output", s.Type)
	}
	if strings.TrimSpace(s.Example) != "" {
		if problems := exampleProblems(s); len(problems) > 0 {
			return fmt.Errorf("register %q: Example: %s", s.Type, strings.Join(problems, "; "))
		}
	}
	seen := map[string]bool{}
	for _, in := range s.Inputs {
		if err := checkName(s.Type, "input", in.Name, seen); err != nil {
			return err
		}
		if in.HasDefault && !in.Type.Accepts(in.Default) {
			return fmt.Errorf("register %q: input %q: default %v is not of type %s", s.Type, in.Name, in.Default, in.Type)
		}
		for _, e := range in.Enum {
			if !in.Type.Accepts(e) {
				return fmt.Errorf("register %q: input %q: enum value %v is not of type %s", s.Type, in.Name, e, in.Type)
			}
		}
		if in.Const && in.Stream {
			return fmt.Errorf("register %q: input %q: a parameter cannot be a stream input", s.Type, in.Name)
		}
	}
	if s.Restartable && !s.Stateful {
		return fmt.Errorf("register %q: Restartable is for stateful types (stateless ones always restart): set Stateful too, or drop Restartable", s.Type)
	}
	if s.SavesState && !s.Stateful {
		return fmt.Errorf("register %q: SavesState is for stateful types: set Stateful too, or drop SavesState", s.Type)
	}
	for _, e := range s.Effects {
		if !e.Known() {
			return fmt.Errorf("register %q: unknown effect %q: the effects are %s", s.Type, e, effectList(AllEffects()))
		}
	}
	outs := map[string]bool{}
	for _, out := range s.Outputs {
		if err := checkName(s.Type, "output", out.Name, outs); err != nil {
			return err
		}
	}
	return nil
}

func checkName(typ, kind, name string, seen map[string]bool) error {
	if !portNamePattern.MatchString(name) {
		return fmt.Errorf("register %q: %s name %q must match [a-z][a-z0-9_]*", typ, kind, name)
	}
	if seen[name] {
		return fmt.Errorf("register %q: duplicate %s %q", typ, kind, name)
	}
	seen[name] = true
	return nil
}

// ErrStop, returned (possibly wrapped) by [Node].Run, ends the flow cleanly:
// in-flight runs are cancelled and the flow exits with success. The
// terminal nodes use it at end of input.
var ErrStop = errors.New("flow stopped by node")

// A StopError ends the flow cleanly, like [ErrStop], and says why: the
// engine reports Reason (flowrun prints it on stderr at info level and
// records it in the event log). Return it from [Node].Run, possibly
// wrapped.
type StopError struct {
	// Reason says why the flow stops, for a person: "counted to 10".
	Reason string
}

func (e *StopError) Error() string { return e.Reason + ": " + ErrStop.Error() }

// Unwrap returns [ErrStop].
func (e *StopError) Unwrap() error { return ErrStop }

// ErrDone, returned (possibly wrapped) by [Node].Run, says that the node
// has nothing more to give, such as an input reader at end of input: the
// run is discarded (its consumers do not run for it), the node runs no
// more, and the flow ends once nothing else can run. Unlike [ErrStop], the
// runs in flight finish.
var ErrDone = errors.New("node done")

// ErrCancelled is wrapped by the error [Outputs].Emit returns once the run
// was cancelled, by a consumer of its stream or because the flow stops.
var ErrCancelled = errors.New("run cancelled")

// ErrInterrupted is the cause of a run interrupted by the user (Ctrl-C):
// its context is cancelled with it, and its stream consumers see their
// stream end with it. It wraps [ErrCancelled], so a node that treats
// cancellation as a normal end needs no special case.
var ErrInterrupted error = interruptedError{}

type interruptedError struct{}

func (interruptedError) Error() string { return "interrupted" }
func (interruptedError) Unwrap() error { return ErrCancelled }

// A ParamError reports a bad parameter; the loader points it at the
// parameter's position in the flow file.
type ParamError struct {
	Param string
	Err   error
}

func (e *ParamError) Error() string { return fmt.Sprintf("%s: %v", e.Param, e.Err) }

// Unwrap returns the underlying error.
func (e *ParamError) Unwrap() error { return e.Err }

// InputNames returns the names of the declared inputs, in order.
func (s *Spec) InputNames() []string {
	names := make([]string, len(s.Inputs))
	for i, in := range s.Inputs {
		names[i] = in.Name
	}
	return names
}

// OutputNames returns the names of the outputs, in order.
func (s *Spec) OutputNames() []string {
	names := make([]string, len(s.Outputs))
	for i, out := range s.Outputs {
		names[i] = out.Name
	}
	return names
}

// HasOutput reports whether the type has the named output.
func (s *Spec) HasOutput(name string) bool {
	return slices.ContainsFunc(s.Outputs, func(o Output) bool { return o.Name == name })
}
