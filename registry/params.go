package registry

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Params holds a node's parameters (see [Config]): JSON-shaped values by
// parameter name. Read them with the typed accessors, which return a [*ParamError] naming the parameter
// when the value has the wrong type, so that the loader reports it at the
// parameter's position in the flow file. Null (a parameter left at a null
// default, or absent) gives the type's zero value and no error; declare a
// default to have another one.
//
// A typical constructor reads its parameters and nothing else, so that it
// is also the check of the parameters (see [Spec].Check):
//
//	New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
//		delay, err := cfg.Params.Duration("delay")
//		if err != nil {
//			return nil, err
//		}
//		return &tickNode{delay: delay}, nil
//	},
type Params map[string]any

// String returns the string parameter name.
func (p Params) String(name string) (string, error) {
	switch v := p[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", paramErrorf(name, "want a string, got %s", Describe(v))
	}
}

// OneOf returns the string parameter name, which must be one of values.
// It is what an input's Enum declares, checked where the value is read.
func (p Params) OneOf(name string, values ...string) (string, error) {
	s, err := p.String(name)
	if err == nil && !slices.Contains(values, s) {
		err = paramErrorf(name, "want one of %s, got %s", strings.Join(values, ", "), Describe(p[name]))
	}
	return s, err
}

// Int returns the integer parameter name: an integer, or a float64 with
// no fractional part (such as 3.0) within ±2^53.
func (p Params) Int(name string) (int, error) {
	v := p[name]
	if v == nil {
		return 0, nil
	}
	if i, ok := AsInt(v); ok {
		return i, nil
	}
	return 0, paramErrorf(name, "want an integer, got %s", Describe(v))
}

// Float returns the number parameter name as a float64.
func (p Params) Float(name string) (float64, error) {
	v := p[name]
	if v == nil {
		return 0, nil
	}
	if f, ok := AsFloat(v); ok {
		return f, nil
	}
	return 0, paramErrorf(name, "want a number, got %s", Describe(v))
}

// Bool returns the boolean parameter name.
func (p Params) Bool(name string) (bool, error) {
	switch v := p[name].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	default:
		return false, paramErrorf(name, "want a boolean, got %s", Describe(v))
	}
}

// Duration returns the duration parameter name, written either as a
// string in Go's syntax ("10ms", "1.5s", "1m30s") or as a number of
// seconds. A negative duration is an error.
func (p Params) Duration(name string) (time.Duration, error) {
	var d time.Duration
	switch v := p[name].(type) {
	case nil:
		return 0, nil
	case string:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, paramErrorf(name, "invalid duration %q: want a number of seconds or a string such as \"10ms\" or \"1.5s\"", v)
		}
	default:
		f, ok := AsFloat(v)
		if !ok {
			return 0, paramErrorf(name, "want a duration (a number of seconds or a string such as \"10ms\"), got %s", Describe(v))
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 {
		return 0, paramErrorf(name, "duration %v is negative", p[name])
	}
	return d, nil
}

// Strings returns the parameter name, a list of strings.
func (p Params) Strings(name string) ([]string, error) {
	v := p[name]
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, paramErrorf(name, "want a list of strings, got %s", Describe(v))
	}
	out := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, paramErrorf(name, "element %d: want a string, got %s", i, Describe(e))
		}
		out[i] = s
	}
	return out, nil
}

// Object returns the parameter name, an object. The map is the flow's:
// do not modify it.
func (p Params) Object(name string) (map[string]any, error) {
	switch v := p[name].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	default:
		return nil, paramErrorf(name, "want an object, got %s", Describe(v))
	}
}

// StringMap returns the parameter name, an object whose values are all
// strings.
func (p Params) StringMap(name string) (map[string]string, error) {
	obj, err := p.Object(name)
	if err != nil || obj == nil {
		return nil, err
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		s, ok := v.(string)
		if !ok {
			return nil, paramErrorf(name, "%q: want a string, got %s", k, Describe(v))
		}
		out[k] = s
	}
	return out, nil
}

// AsFloat returns a number as a float64: v may be any of the number types
// a node receives (see "Values" in the package documentation).
func AsFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// AsInt returns a number as an int when it is an integer: an int, an
// int64, or a float64 with no fractional part within ±2^53.
func AsInt(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, false
		}
		return int(v), true
	}
	return 0, false
}

// paramErrorf returns a *ParamError for the parameter name.
func paramErrorf(name, format string, args ...any) error {
	return &ParamError{Param: name, Err: fmt.Errorf(format, args...)}
}

// Describe names a value for an error message: its JSON type and, for
// scalars, the value (a string is shortened to 40 bytes), as in
// "takes a number, got the string \"abc\"".
func Describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case int, int64, float64:
		return fmt.Sprintf("number %v", v)
	case string:
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		return fmt.Sprintf("string %q", v)
	case []any:
		return fmt.Sprintf("list of %d", len(v))
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T value", v)
}
