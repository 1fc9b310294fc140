package builtin

import (
	"context"
	"fmt"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func textSentencesSpec() registry.Spec {
	return registry.Spec{
		Type: "text.sentences",
		Doc: "Regroups a stream of text pieces (such as an LLM's tokens) into whole sentences, like Flowno's ChunkSentences.\n\n" +
			"A sentence ends at a run of . ! or ? (optionally followed by closing quotes or brackets) that is followed by white space, " +
			"or at a line break. Each sentence is emitted as soon as it is complete, without the surrounding white space; " +
			"the rest is emitted when the input stream ends. Empty sentences are skipped; 3.14 and list numbers such as \"2. \" " +
			"at the start of a line do not end a sentence (abbreviations such as \"e.g. \" do). " +
			"The final value is the concatenation of the sentences.",
		Streams: true,
		Inputs: []registry.Input{
			{Name: "s", Type: registry.String, Stream: true, Doc: "The stream of text pieces."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "One chunk per sentence."}},
		Example: "sentences:\n  type: text.sentences\n  inputs: {s: reply}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			return &sentencesNode{}, nil
		},
	}
}

// sentencesNode regroups text pieces into sentences.
type sentencesNode struct{}

var _ registry.Node = (*sentencesNode)(nil)

func (*sentencesNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) (err error) {
	s := in.Stream("s")
	defer endRun(ctx, &err, s)
	var buf string
	scan := 0 // buf[:scan] holds no sentence end
	emit := func(sentence string) error {
		if sentence = strings.TrimSpace(sentence); sentence == "" {
			return nil
		}
		if err := out.Emit(ctx, "out", sentence); err != nil {
			s.Cancel()
			return err
		}
		return nil
	}
	for i := 0; ; i++ {
		c, ok, err := s.Next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return emit(buf)
		}
		piece, isString := c.(string)
		if !isString {
			s.Cancel()
			return fmt.Errorf("input %q: chunk %d: want a string, got %s", "s", i, registry.Describe(c))
		}
		buf += piece
		for {
			end, next, resume, found := sentenceEnd(buf, scan)
			if !found {
				scan = resume
				break
			}
			if isListNumber(buf[:end]) {
				scan = end
				continue
			}
			if err := emit(buf[:end]); err != nil {
				return err
			}
			buf, scan = buf[next:], 0
		}
	}
}

// sentenceEnd looks for the end of the first sentence in s, starting at
// byte from. When found, s[:end] is the sentence and s[next:] the rest.
// Otherwise resume is where the next search may start: a final run of
// punctuation is searched again once more text arrives.
func sentenceEnd(s string, from int) (end, next, resume int, found bool) {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return i, i + 1, 0, true
		case '.', '!', '?':
			j := i + 1
			for j < len(s) && strings.IndexByte(".!?\"')]", s[j]) >= 0 {
				j++
			}
			if j == len(s) {
				return 0, 0, i, false
			}
			if isSpace(s[j]) {
				return j, j + 1, 0, true
			}
			i = j - 1
		}
	}
	return 0, 0, len(s), false
}

// isListNumber reports whether a candidate sentence is only a list number
// such as "2.", which starts a list item rather than ending a sentence.
func isListNumber(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[len(s)-1] != '.' {
		return false
	}
	for i := 0; i < len(s)-1; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
