package registry

import (
	"context"
	"errors"
	"iter"
	"reflect"
	"testing"
)

// sliceStream is a Stream of fixed chunks that ends with err.
type sliceStream struct {
	chunks []any
	err    error
	next   int
}

func (s *sliceStream) Next(context.Context) (any, bool, error) {
	if s.next < len(s.chunks) {
		s.next++
		return s.chunks[s.next-1], true, nil
	}
	return nil, false, s.err
}

func (s *sliceStream) Cancel() {}

func (s *sliceStream) All(ctx context.Context) iter.Seq2[any, error] { return StreamAll(ctx, s) }

func TestStreamAll(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name   string
		s      *sliceStream
		stopAt int // break after this many chunks; 0: never
		chunks []any
		errs   []error
		next   int // chunks read from the stream
	}{
		{"to the end", &sliceStream{chunks: []any{"a", "b"}}, 0, []any{"a", "b"}, nil, 2},
		{"producer failed", &sliceStream{chunks: []any{"a"}, err: boom}, 0, []any{"a"}, []error{boom}, 1},
		{"empty", &sliceStream{}, 0, nil, nil, 0},
		{"break", &sliceStream{chunks: []any{1, 2, 3}}, 1, []any{1}, nil, 1},
	}
	for _, tt := range tests {
		var chunks []any
		var errs []error
		for c, err := range tt.s.All(t.Context()) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			chunks = append(chunks, c)
			if len(chunks) == tt.stopAt {
				break
			}
		}
		if !reflect.DeepEqual(chunks, tt.chunks) || !reflect.DeepEqual(errs, tt.errs) || tt.s.next != tt.next {
			t.Errorf("%s: chunks %v, errors %v, read %d; want %v, %v, %d", tt.name, chunks, errs, tt.s.next, tt.chunks, tt.errs, tt.next)
		}
	}
}
