package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"

	"github.com/flowrun/flowrun/registry"
)

// This file holds the value helpers the built-in types share: numbers that
// stay integers when they can, the "add" rule, JSON encoding and decoding,
// descriptions of values for error messages, and parameter parsing.

// asNumber returns v as a float64 and, when v is an integer (int, int64 or
// an integral float64 that fits an int), as an int.
func asNumber(v any) (f float64, i int, isInt, ok bool) {
	switch v := v.(type) {
	case int:
		return float64(v), v, true, true
	case int64:
		return float64(v), int(v), true, true
	case float64:
		return v, 0, false, true
	}
	return 0, 0, false, false
}

// arith applies + - or * to two numbers. Two integers give an integer
// unless the result overflows; anything else gives a float64.
func arith(op byte, a, b any) (any, error) {
	af, ai, aInt, ok := asNumber(a)
	if !ok {
		return nil, fmt.Errorf("want a number, got %s", registry.Describe(a))
	}
	bf, bi, bInt, ok := asNumber(b)
	if !ok {
		return nil, fmt.Errorf("want a number, got %s", registry.Describe(b))
	}
	if aInt && bInt {
		switch op {
		case '+':
			if c := ai + bi; (c > ai) == (bi > 0) {
				return c, nil
			}
		case '-':
			if c := ai - bi; (c < ai) == (bi > 0) {
				return c, nil
			}
		case '*':
			if ai == 0 || bi == 0 {
				return 0, nil
			}
			if c := ai * bi; c/bi == ai && !(ai == -1 && bi == math.MinInt) && !(bi == -1 && ai == math.MinInt) {
				return c, nil
			}
		}
	}
	switch op {
	case '+':
		return af + bf, nil
	case '-':
		return af - bf, nil
	case '*':
		return af * bf, nil
	}
	return nil, fmt.Errorf("unknown operator %q", op)
}

// add is flowrun's "+": numbers add, strings concatenate, lists
// concatenate (into a new list). Other combinations are an error.
func add(a, b any) (any, error) {
	switch a := a.(type) {
	case string:
		if b, ok := b.(string); ok {
			return a + b, nil
		}
	case []any:
		if b, ok := b.([]any); ok {
			c := make([]any, 0, len(a)+len(b))
			return append(append(c, a...), b...), nil
		}
	default:
		_, _, _, aNum := asNumber(a)
		_, _, _, bNum := asNumber(b)
		if aNum && bNum {
			return arith('+', a, b)
		}
	}
	return nil, fmt.Errorf("cannot add %s and %s: both must be numbers, strings or lists", registry.Describe(a), registry.Describe(b))
}

// text renders a value as text: a string as is, anything else as JSON.
func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// decodeJSON decodes one JSON value. Integers that fit an int become ints,
// other numbers float64. A syntax error names the position of the
// offending byte, counted from 1.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(err)
	}
	rest := int(dec.InputOffset())
	for rest < len(data) && isSpace(data[rest]) {
		rest++
	}
	if rest < len(data) {
		return nil, fmt.Errorf("invalid JSON at byte %d: unexpected data after the value", rest+1)
	}
	return registry.FromJSONNumbers(v), nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("invalid JSON at byte %d: %v", syn.Offset, syn)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: unexpected end of input")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// marshalValue encodes a JSON-shaped value so that decodeJSON gives it
// back with the same Go types: a whole float64 is written with an
// exponent (4e+00), which decodes as a float64, not as an int.
func marshalValue(v any) ([]byte, error) {
	return json.Marshal(registry.ExactNumbers(v))
}

// jsonShaped converts a Go value (such as an expression's result) to a
// JSON-shaped value: integers become int, floats float64, slices []any and
// maps with string keys map[string]any. Other values are an error.
func jsonShaped(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, int, float64, string:
		return v, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := jsonShaped(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := jsonShaped(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u := rv.Uint(); u <= math.MaxInt {
			return int(u), nil
		}
		return float64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			c, err := jsonShaped(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			c, err := jsonShaped(it.Value().Interface())
			if err != nil {
				return nil, err
			}
			out[it.Key().String()] = c
		}
		return out, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return jsonShaped(rv.Elem().Interface())
	}
	return nil, fmt.Errorf("%T is not a JSON value", v)
}

// paramError returns a *registry.ParamError for the named parameter.
func paramError(name, format string, args ...any) error {
	return &registry.ParamError{Param: name, Err: fmt.Errorf(format, args...)}
}

// endRun is deferred by the types that read or write streams, with the
// run's error and stream inputs. When the run's context is done (a
// consumer cancelled the run, or the flow stops) it cancels the stream
// inputs, so that the cancellation reaches the producers, and makes the
// error wrap [registry.ErrCancelled], which the engine treats as a normal end.
func endRun(ctx context.Context, err *error, streams ...registry.Stream) {
	if ctx.Err() == nil {
		return
	}
	for _, s := range streams {
		s.Cancel()
	}
	if *err != nil && !errors.Is(*err, registry.ErrCancelled) {
		*err = fmt.Errorf("%w: %w", registry.ErrCancelled, *err)
	}
}

// variadicNames returns the names of the node's inputs other than the
// declared ones, in the order of cfg.Inputs.
func variadicNames(cfg registry.Config, declared ...string) []string {
	var names []string
	for _, name := range cfg.Inputs {
		if !slices.Contains(declared, name) {
			names = append(names, name)
		}
	}
	return names
}

// numberInput returns the named input when it is a number, or an error
// naming the input.
func numberInput(in registry.Inputs, name string) (any, error) {
	v := in.Value(name)
	if _, _, _, ok := asNumber(v); !ok {
		return nil, fmt.Errorf("input %q: want a number, got %s", name, registry.Describe(v))
	}
	return v, nil
}

// wantString returns v as a string or an error naming the input.
func wantString(input string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("input %q: want a string, got %s", input, registry.Describe(v))
	}
	return s, nil
}

// numberOperands reads the number inputs a and b of a two-operand type.
func numberOperands(in registry.Inputs) (a, b any, err error) {
	if a, err = numberInput(in, "a"); err != nil {
		return nil, nil, err
	}
	if b, err = numberInput(in, "b"); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}
