package graph

import (
	"fmt"
	"strings"
)

// interpolate replaces ${VAR} and ${VAR:-fallback} in s with values from
// getenv (nil: nothing is set). A variable whose value is empty counts as
// unset. "$$" stands for a literal "$".
func interpolate(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch != '$' || i+1 >= len(s) {
			b.WriteByte(ch)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(ch)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return s, fmt.Errorf("unterminated ${ in %q: close it with }, or write $$ for a literal $", s)
		}
		expr := s[i+2 : i+2+end]
		name, fallback, hasFallback := strings.Cut(expr, ":-")
		if !validVarName(name) {
			return s, fmt.Errorf("invalid variable name %q in %q: use letters, digits and _", name, s)
		}
		val := ""
		if getenv != nil {
			val = getenv(name)
		}
		if val == "" {
			if !hasFallback {
				return s, fmt.Errorf("environment variable %q is not set: set it, or write ${%s:-fallback}", name, name)
			}
			val = fallback
		}
		b.WriteString(val)
		i += 2 + end
	}
	return b.String(), nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
