package registry

import "strings"

// An Accumulator builds the final value of a streamed output from its
// chunks, by flowrun's rule: strings concatenate, numbers add (integers stay
// integers), lists concatenate; any other chunk (null, boolean, object) or
// a mix of kinds gives the list of the chunks. No chunks give null.
//
// Memory stays flat for uniform streams: a stream of numbers keeps one
// number, not its chunks. The price is that when a stream turns mixed after
// a run of strings or numbers, that run appears in the list as its
// accumulated value ("a", "b", 1 gives ["ab", 1]). The zero value is ready
// to use; each Add costs amortised O(size of the chunk).
type Accumulator struct {
	n      int
	kind   accKind
	str    strings.Builder
	num    float64
	allInt bool
	inum   int64
	list   []any
	chunks []any // every chunk, kept once the mix is heterogeneous
	size   int64
}

type accKind int

const (
	accNone accKind = iota
	accString
	accNumber
	accList
	accMixed
)

func kindOf(v any) accKind {
	switch v.(type) {
	case string:
		return accString
	case float64, int, int64:
		return accNumber
	case []any:
		return accList
	}
	return accMixed
}

// Add folds one chunk into the accumulation.
func (a *Accumulator) Add(chunk any) {
	k := kindOf(chunk)
	if a.n == 0 {
		a.kind = k
		a.allInt = true
	} else if a.kind != accMixed && k != a.kind {
		a.chunks = a.replay()
		a.kind = accMixed
	}
	a.n++
	switch a.kind {
	case accString:
		a.size += int64(len(chunk.(string)))
	case accList, accMixed:
		a.size += 16 + SizeOf(chunk)
	}
	switch a.kind {
	case accString:
		a.str.WriteString(chunk.(string))
	case accNumber:
		switch v := chunk.(type) {
		case float64:
			a.allInt = false
			a.num += v
		case int:
			a.inum += int64(v)
		case int64:
			a.inum += v
		}
	case accList:
		a.list = append(a.list, chunk.([]any)...)
		a.chunks = append(a.chunks, chunk)
	case accMixed:
		a.chunks = append(a.chunks, chunk)
	}
}

// replay rebuilds the list of chunks seen so far when the kind turns mixed.
// Strings and numbers cannot be split back into chunks, so the engine keeps
// them as the single value accumulated so far; lists keep their chunks.
func (a *Accumulator) replay() []any {
	switch a.kind {
	case accString:
		return []any{a.str.String()}
	case accNumber:
		return []any{a.numberValue()}
	case accList:
		return a.chunks
	}
	return a.chunks
}

func (a *Accumulator) numberValue() any {
	if a.allInt {
		return int(a.inum)
	}
	return a.num + float64(a.inum)
}

// Size estimates the memory the accumulation holds, in bytes: the length
// of an accumulated string, or the [SizeOf] of the chunks kept in a list.
// A uniform stream of numbers keeps one number, of size 0 here.
func (a *Accumulator) Size() int64 { return a.size }

// Len returns the number of chunks added.
func (a *Accumulator) Len() int { return a.n }

// Value returns the accumulated value.
func (a *Accumulator) Value() any {
	if a.n == 0 {
		return nil
	}
	switch a.kind {
	case accString:
		return a.str.String()
	case accNumber:
		return a.numberValue()
	case accList:
		return a.list
	}
	return a.chunks
}
