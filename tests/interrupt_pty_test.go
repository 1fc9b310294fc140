//go:build unix

package tests

import (
	"strings"
	"syscall"
	"testing"

	"github.com/flowrun/flowrun/internal/llm/llmtest"
)

// TestChatbotPTYCtrlCNeverEndsTheChat: in an interactive flow every Ctrl-C
// while an answer streams cuts only that answer, however soon it follows
// the previous one (flowrun used to stop the chat, exit 130, on a second
// Ctrl-C within 3 s); Ctrl-C at the prompt then ends the chat with 0
// (issue 9 §3).
func TestChatbotPTYCtrlCNeverEndsTheChat(t *testing.T) {
	story, pieces := slowStory()
	srv := llmtest.New(t, story, story, story)
	c := startPTYChat(t, buildFlowrun(t), srv.URL())
	first := strings.Join(pieces[:3], "")
	for _, prompt := range []string{"Tell me a story", "Another one", "And a third"} {
		c.expect("you> ")
		c.typeKeys(prompt + "\r")
		c.expect(first)
		c.typeKeys("\x03") // Ctrl-C while the answer streams
		c.expect(" [interrupted]")
	}
	c.expect("you> ")
	c.typeKeys("\x03") // Ctrl-C at the prompt
	c.wantExit(0)
	if n := srv.Count(); n != 3 {
		t.Errorf("the server saw %d requests, want 3", n)
	}
}

// TestChatbotPTYSIGTERM: SIGTERM while an answer streams ends the chat with
// 130.
func TestChatbotPTYSIGTERM(t *testing.T) {
	story, pieces := slowStory()
	srv := llmtest.New(t, story)
	c := startPTYChat(t, buildFlowrun(t), srv.URL())
	c.expect("you> ")
	c.typeKeys("Tell me a story\r")
	c.expect(strings.Join(pieces[:3], ""))
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.wantExit(130)
}
