package graph

// A place is where a value was written: a position in a file, or a --set
// entry given on the command line.
type place struct {
	pos Pos
	set string
}

func placeOf(t *tree) place {
	if t == nil {
		return place{}
	}
	return place{pos: t.pos, set: t.set}
}

// addAt adds an error at p. An error about a --set entry has no position;
// its message names the entry instead.
func (l *ErrorList) addAt(p place, format string, args ...any) {
	if p.set != "" {
		args = append([]any{p.set}, args...)
		l.Add(Pos{}, "--set %q: "+format, args...)
		return
	}
	l.Add(p.pos, format, args...)
}
