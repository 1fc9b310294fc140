package registry

import (
	"fmt"
	"sync"
)

// An AnswerTally counts the answers a flow showed the user (a chatbot's
// replies, printed by term.chat or term.print) and how many of them
// failed. The engine gives every run one ([Env.Answers]); when a flow
// that is not interactive ends cleanly after some answers failed, the
// run fails with an [*AnswersFailedError], so that a script sees it in
// the exit status. The zero value is ready; a nil tally counts nothing.
type AnswerTally struct {
	mu              sync.Mutex
	answers, failed int
}

// Add counts one answer, failed or not.
func (t *AnswerTally) Add(failed bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.answers++
	if failed {
		t.failed++
	}
}

// Err returns an [*AnswersFailedError] when some answers failed, else nil.
func (t *AnswerTally) Err() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == 0 {
		return nil
	}
	return &AnswersFailedError{Failed: t.failed, Answers: t.answers}
}

// An AnswersFailedError ends a flow, not interactive, that showed failed
// answers: all the input was processed, but Failed of the Answers failed.
// Each failure was already reported on its own line; the message is the
// summary ("2 of 2 answers failed").
type AnswersFailedError struct {
	Failed, Answers int
}

func (e *AnswersFailedError) Error() string {
	return fmt.Sprintf("%d of %d answers failed", e.Failed, e.Answers)
}
