package builtin

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

func TestTextSentences(t *testing.T) {
	tests := []struct {
		name   string
		chunks []any
		want   []any
	}{
		{"tokens", []any{"Hel", "lo there", ". How", " are you?", " Fine"}, []any{"Hello there.", "How are you?", "Fine"}},
		{"decimal", []any{"Pi is 3", ".14 roughly. Yes."}, []any{"Pi is 3.14 roughly.", "Yes."}},
		{"punctuation at a chunk end", []any{"Wait...", "", " What?!", "\" he said"}, []any{"Wait...", "What?!\"", "he said"}},
		{"quotes", []any{"He said \"stop.\" Then left."}, []any{"He said \"stop.\"", "Then left."}},
		{"line breaks and list numbers", []any{"1. one\n2", ". two\n\n", "end"}, []any{"1. one", "2. two", "end"}},
		{"number at a sentence end", []any{"I counted 12. Done"}, []any{"I counted 12.", "Done"}},
		{"empty", nil, nil},
		{"only space", []any{"  ", "\n "}, nil},
	}
	spec := lookup(t, "text.sentences")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := nodetest.New(t, spec, nodetest.Setup{}).Run(t, nodetest.In{
				Streams: map[string]*nodetest.Source{"s": nodetest.Chunks(tt.chunks...)},
			})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := res.Chunks["out"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("sentences = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTextSentencesPipelines checks that a sentence is emitted as soon as
// it is complete, before the input stream ends.
func TestTextSentencesPipelines(t *testing.T) {
	tokens := make(chan any)
	emitted := make(chan any, 1)
	done := make(chan *nodetest.Result)
	n := nodetest.New(t, lookup(t, "text.sentences"), nodetest.Setup{})
	go func() {
		done <- n.Run(t, nodetest.In{
			Streams: map[string]*nodetest.Source{"s": nodetest.Chan(tokens)},
			OnEmit:  func(_ string, c any) { emitted <- c },
		})
	}()
	tokens <- "One."
	tokens <- " Two"
	if got := <-emitted; got != "One." {
		t.Errorf("first sentence = %q, want One.", got)
	}
	tokens <- "!"
	close(tokens)
	if got := <-emitted; got != "Two!" {
		t.Errorf("last sentence = %q, want Two!", got)
	}
	if res := <-done; res.Err != nil || res.Out() != "One.Two!" {
		t.Errorf("err = %v, final = %q", res.Err, res.Out())
	}
}

func TestTextSentencesErrors(t *testing.T) {
	spec := lookup(t, "text.sentences")
	res := nodetest.New(t, spec, nodetest.Setup{}).Run(t, nodetest.In{
		Streams: map[string]*nodetest.Source{"s": nodetest.Chunks("a", 7)},
	})
	if res.Err == nil || !strings.Contains(res.Err.Error(), `input "s": chunk 1: want a string, got number 7`) {
		t.Errorf("err = %v", res.Err)
	}
	if !res.Cancelled["s"] {
		t.Error("input not cancelled after a bad chunk")
	}
	boom := errors.New("producer failed")
	res = nodetest.New(t, spec, nodetest.Setup{}).Run(t, nodetest.In{
		Streams: map[string]*nodetest.Source{"s": nodetest.Chunks("a. b").Fail(boom)},
	})
	if !errors.Is(res.Err, boom) {
		t.Errorf("err = %v, want the producer's error", res.Err)
	}
	res = nodetest.New(t, spec, nodetest.Setup{}).Run(t, nodetest.In{
		Streams:     map[string]*nodetest.Source{"s": nodetest.Chunks("a. b. c. d")},
		CancelAfter: 1,
	})
	if !errors.Is(res.Err, registry.ErrCancelled) || !res.Cancelled["s"] || len(res.Chunks["out"]) != 1 {
		t.Errorf("cancelled run: err = %v, input cancelled = %v, chunks = %q", res.Err, res.Cancelled["s"], res.Chunks["out"])
	}
}
