// Package jsonpointer reads the JSON pointers (RFC 6901) that JSON Schema
// validation errors carry, so that the flow loader and the test runner map
// an error back to the YAML node it is about in the same way.
package jsonpointer

import (
	"net/url"
	"strings"
)

// Split splits a JSON pointer ("/nodes/a~1b/0", or a URI fragment with
// percent-escapes) into its unescaped segments; "" and "/" give none.
func Split(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		s = strings.ReplaceAll(s, "~1", "/")
		segs[i] = strings.ReplaceAll(s, "~0", "~")
	}
	return segs
}

// Last returns the last segment, or "" when there is none.
func Last(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	return segs[len(segs)-1]
}

// Index returns the segment as a list index, or -1 when it is not a
// non-negative decimal number of at most nine digits.
func Index(seg string) int {
	if seg == "" || len(seg) > 9 {
		return -1
	}
	n := 0
	for _, r := range seg {
		if r < '0' || r > '9' {
			return -1
		}
		n = n*10 + int(r-'0')
	}
	return n
}
