//go:build unix

package tests

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/internal/testenv"
)

// waitTime bounds each wait for the chatbot's output in a terminal.
const waitTime = 15 * time.Second

// A ptyChat is the built flowrun running flows/chatbot.yaml in a
// pseudo-terminal, as the session leader with the terminal as its
// controlling terminal (so Ctrl-C in cooked mode sends it SIGINT).
type ptyChat struct {
	t      *testing.T
	cmd    *exec.Cmd
	tty    *os.File // the terminal's master side: what the user types and sees
	out    *watchBuffer
	scr    *screen // what the terminal shows
	pos    int     // how far the output has been consumed by expect
	exited chan struct{}
	err    error         // cmd.Wait's, once exited is closed
	copied chan struct{} // closed once all the output reached out and scr
}

// startPTYChat starts the chatbot against baseURL in a test terminal.
func startPTYChat(t *testing.T, bin, baseURL string) *ptyChat {
	t.Helper()
	return startPTY(t, chatCommand(baseURL, bin, chatbotFlow))
}

// chatCommand returns the command that runs the chatbot against baseURL.
func chatCommand(baseURL, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm", "OPENAI_BASE_URL="+baseURL, "OPENAI_MODEL="+chatModel,
		"OPENAI_API_KEY=", "FLOWRUN_SYSTEM_PROMPT="+chatSystem)
	return cmd
}

// The size of the test terminal.
const ptyCols, ptyRows = 200, 24

// startPTY starts cmd in a ptyCols×ptyRows terminal.
func startPTY(t *testing.T, cmd *exec.Cmd) *ptyChat {
	t.Helper()
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: ptyRows, Cols: ptyCols})
	if err != nil {
		t.Fatalf("start flowrun in a pseudo-terminal: %v", err)
	}
	c := &ptyChat{t: t, cmd: cmd, tty: tty, out: newWatchBuffer(), exited: make(chan struct{})}
	c.scr = newScreen(ptyCols, ptyRows, func(reply []byte) { tty.Write(reply) })
	copied := make(chan struct{})
	c.copied = copied
	go func() {
		c.readTerminal() // ends with EIO once the process and its terminal are gone
		c.out.Close()
		c.scr.Close()
		close(copied)
	}()
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			cmd.Process.Kill()
			<-c.exited
		}
		tty.Close()
		<-copied
		t.Logf("terminal transcript:\n%s\nscreen:\n%s", printable(c.out.String()), c.scr.text())
	})
	return c
}

// readTerminal copies what the program writes to its terminal into c.out
// (the bytes) and c.scr (the screen a person sees).
func (c *ptyChat) readTerminal() {
	buf := make([]byte, 4096)
	for {
		n, err := c.tty.Read(buf)
		if n > 0 {
			c.out.Write(buf[:n])
			c.scr.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// expect waits for s in the output not consumed yet and consumes the
// output up to its end.
func (c *ptyChat) expect(s string) {
	c.t.Helper()
	c.pos = c.out.waitFor(c.t, c.pos, s, waitTime)
}

// typeKeys writes to the terminal as the user's keyboard would.
func (c *ptyChat) typeKeys(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.tty, s); err != nil {
		c.t.Fatalf("type %q: %v", s, err)
	}
}

// wantExit waits for the process to end and checks its exit code.
func (c *ptyChat) wantExit(code int) {
	c.t.Helper()
	select {
	case <-c.exited:
	case <-time.After(waitTime):
		c.t.Fatalf("flowrun did not exit within %v; the terminal shows:\n%s", waitTime, printable(c.out.String()))
	}
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(c.err, &ee):
		got = ee.ExitCode()
	case c.err != nil:
		c.t.Fatalf("flowrun: %v", c.err)
	}
	if got != code {
		c.t.Errorf("%s ended with %v, want exit code %d", filepath.Base(c.cmd.Path), c.err, code)
	}
}

// printable shows control characters and escape sequences of terminal
// output as Go escapes, keeping line ends.
func printable(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		q := fmt.Sprintf("%q", strings.TrimRight(line, "\r\n"))
		b.WriteString(q[1 : len(q)-1])
		if strings.HasSuffix(line, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// slowStory is an answer that streams a sentence, a word every 50 ms,
// and then neither goes on nor ends until flowrun goes away (see
// llmtest.Hang), so that a Ctrl-C or a signal sent once some words show
// always arrives while the answer streams, however loaded the machine.
// It returns the pieces streamed.
func slowStory() (llmtest.Response, []string) {
	words := strings.Fields("Once upon a time a tiny robot counted every star in the sky.")
	steps := []llmtest.Step{llmtest.Data(llmtest.Chunk(map[string]any{"role": "assistant", "content": ""}, nil))}
	pieces := make([]string, len(words))
	for i, w := range words {
		pieces[i] = w + " "
		steps = append(steps, llmtest.Data(llmtest.Chunk(map[string]any{"content": pieces[i]}, nil)), llmtest.Sleep(50*time.Millisecond))
	}
	steps = append(steps, llmtest.Hang(), llmtest.Data(llmtest.Chunk(map[string]any{}, "stop")), llmtest.Done())
	return llmtest.Response{Steps: steps}, pieces
}

// TestChatbotPTY types to the chatbot in a real terminal: the prompt
// appears, Enter streams the answer, Ctrl-C stops it (marked
// " [interrupted]") and brings the prompt back, the next prompt gets an
// answer and its request carries the partial answer as the assistant's
// message, and Ctrl-D at the prompt exits with 0.
func TestChatbotPTY(t *testing.T) {
	story, pieces := slowStory()
	srv := llmtest.New(t, story, llmtest.Stream("Second", " answer."))
	c := startPTYChat(t, buildFlowrun(t), srv.URL())
	interruptAndGoOn(c, srv, pieces)
	c.typeKeys("\x04") // Ctrl-D
	c.wantExit(0)
}

// interruptAndGoOn has the conversation of TestChatbotPTY with the chatbot
// in c, whose server srv streams slowStory's pieces and then "Second
// answer.", and checks it.
func interruptAndGoOn(c *ptyChat, srv *llmtest.Server, pieces []string) {
	t := c.t
	t.Helper()
	c.expect("you> ")
	c.typeKeys("Tell me a long story\r")
	// The answer streams: its first words show while the rest is still
	// on its way.
	c.expect(strings.Join(pieces[:4], ""))
	c.typeKeys("\x03") // Ctrl-C
	c.expect(" [interrupted]")
	shown := c.out.String()[:c.pos]
	c.expect("you> ")
	c.typeKeys("And then?\r")
	c.expect("Second answer.")
	c.expect("you> ")

	reqs := requestMessages(t, srv.Requests())
	if len(reqs) != 2 {
		t.Fatalf("the server saw %d requests, want 2", len(reqs))
	}
	got := reqs[1]
	full := strings.Join(pieces, "")
	if len(got) != 4 || got[2].Role != "assistant" {
		t.Fatalf("second request: %+v; want system, user, assistant, user", got)
	}
	partial, marked := strings.CutSuffix(got[2].Content, " [interrupted]")
	if !marked || !strings.HasPrefix(full, partial) || len(partial) < len(strings.Join(pieces[:4], "")) {
		t.Errorf("the assistant message is %q: want the partial answer (a prefix of the story, at least what was shown) marked \" [interrupted]\"", got[2].Content)
	}
	// The terminal does not echo the Ctrl-C ("^C") into the answer: the
	// answer is followed by the mark alone.
	if !regexp.MustCompile(regexp.QuoteMeta(partial) + ` \[interrupted\]$`).MatchString(shown) {
		t.Errorf("the terminal did not show the partial answer %q marked [interrupted]:\n%s", partial, printable(shown))
	}
	want := []chatMsg{{"system", chatSystem}, {"user", "Tell me a long story"}, got[2], {"user", "And then?"}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("second request, message %d: %+v, want %+v", i+1, got[i], want[i])
		}
	}
}

// TestChatbotMakeChat has the same conversation through "make chat" (with
// OPENAI_BASE_URL set, so against the fake server): the Ctrl-C must reach
// flowrun alone, not make and scripts/chat.sh, and the exit is 0. It builds
// ./flowrun at the repository root, as "make chat" does.
func TestChatbotMakeChat(t *testing.T) {
	for _, prog := range []string{"make", "bash", "go"} {
		if _, err := exec.LookPath(prog); err != nil {
			testenv.Missing(t, "%s is not installed", prog)
		}
	}
	story, pieces := slowStory()
	srv := llmtest.New(t, story, llmtest.Stream("Second", " answer."))
	cmd := chatCommand(srv.URL(), "make", "--no-print-directory", "chat")
	cmd.Dir = ".."
	c := startPTY(t, cmd)
	interruptAndGoOn(c, srv, pieces)
	c.typeKeys("\x04") // Ctrl-D
	c.wantExit(0)
	if rest := c.out.String()[c.pos:]; strings.Contains(rest, "make: ") {
		t.Errorf("make reports a problem:\n%s", printable(rest))
	}
}

// TestChatbotPTYEnd checks the other ways to end the chat in a terminal:
// the line /exit, and Ctrl-C at the prompt, both with exit 0 and without
// asking the server anything.
func TestChatbotPTYEnd(t *testing.T) {
	bin := buildFlowrun(t)
	for _, tt := range []struct{ name, keys string }{
		{"exit", "/exit\r"},
		{"ctrl-c", "\x03"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.New(t)
			c := startPTYChat(t, bin, srv.URL())
			c.expect("you> ")
			c.typeKeys(tt.keys)
			c.wantExit(0)
			if n := srv.Count(); n != 0 {
				t.Errorf("the server saw %d requests, want none", n)
			}
			if rest := c.out.String()[c.pos:]; regexp.MustCompile(`(?i)error|panic`).MatchString(rest) {
				t.Errorf("the terminal shows an error:\n%s", printable(rest))
			}
		})
	}
}

// TestChatbotPTYLayout checks what a person sees in a terminal: each
// prompt line, then the answer, the usage line and an error line each
// starting at column 0 of a line of their own, and after /exit the cursor
// at column 0 of a fresh line, where the shell prints next.
func TestChatbotPTYLayout(t *testing.T) {
	srv := llmtest.New(t,
		llmtest.Stream("Hello", " there."),
		llmtest.Error(400, `{"error":{"message":"bad prompt","type":"invalid_request_error"}}`))
	c := startPTYChat(t, buildFlowrun(t), srv.URL())
	c.scr.waitUntil(t, "the prompt", func(rows []string) bool { return rows[0] == "you>" })
	c.typeKeys("Hi\r")
	c.scr.waitUntil(t, "the second prompt", func(rows []string) bool { return rows[3] == "you>" })
	c.typeKeys("Again\r")
	c.scr.waitUntil(t, "the third prompt", func(rows []string) bool { return rows[5] == "you>" })
	c.typeKeys("/exit\r")
	c.wantExit(0)
	<-c.copied

	rows := c.scr.rows()
	want := []string{
		"you> Hi",
		"Hello there.",
		"[7 prompt + 2 completion tokens]",
		"you> Again",
		"", // the error line, checked below
		"you> /exit",
		"",
	}
	for i, w := range want {
		if i == 4 {
			if !strings.HasPrefix(rows[i], "error: ") || !strings.Contains(rows[i], "bad prompt") {
				t.Errorf("row %d is %q, want the error line \"error: ... bad prompt\" from column 0", i, rows[i])
			}
			continue
		}
		if rows[i] != w {
			t.Errorf("row %d is %q, want %q", i, rows[i], w)
		}
	}
	if col, row := c.scr.cursor(); col != 0 || row != len(want)-1 {
		t.Errorf("after the chat the cursor is at column %d, row %d; want column 0, row %d", col, row, len(want)-1)
	}
	if t.Failed() {
		t.Logf("the screen:\n%s", c.scr.text())
	}
}

// TestChatbotPTYTypingDuringAnswer: keys typed while an answer streams
// are not echoed into the answer; they are at the next prompt, ready to
// be completed and sent.
func TestChatbotPTYTypingDuringAnswer(t *testing.T) {
	typed := make(chan struct{})
	answer := llmtest.Stream("Hello", " there.")
	answer.Steps = append(answer.Steps[:2:2], append([]llmtest.Step{llmtest.Wait(typed)}, answer.Steps[2:]...)...)
	srv := llmtest.New(t, answer, llmtest.Stream("Bye."))
	c := startPTYChat(t, buildFlowrun(t), srv.URL())
	c.scr.waitUntil(t, "the prompt", func(rows []string) bool { return rows[0] == "you>" })
	c.typeKeys("Hi\r")
	c.scr.waitUntil(t, "the answer's first word", func(rows []string) bool { return rows[1] == "Hello" })
	c.typeKeys("and you")
	close(typed) // the answer goes on
	c.scr.waitUntil(t, "the rest of the answer, and the typed text at the prompt", func(rows []string) bool {
		return rows[3] == "you> and you"
	})
	c.typeKeys("?\r")
	c.scr.waitUntil(t, "the second answer", func(rows []string) bool { return rows[6] == "you>" })
	c.typeKeys("\x04")
	c.wantExit(0)
	<-c.copied

	want := []string{"you> Hi", "Hello there.", "[7 prompt + 2 completion tokens]", "you> and you?", "Bye.", "[7 prompt + 1 completion tokens]", "you>"}
	if rows := c.scr.rows(); !reflect.DeepEqual(rows[:len(want)], want) {
		t.Errorf("the screen shows\n%s\nwant\n%s", strings.Join(rows[:len(want)], "\n"), strings.Join(want, "\n"))
	}
	if reqs := requestMessages(t, srv.Requests()); len(reqs) != 2 || reqs[1][len(reqs[1])-1] != (chatMsg{"user", "and you?"}) {
		t.Errorf("the server saw %+v; want the second prompt \"and you?\"", reqs)
	}
}

// TestChatbotPTYCutAndReasoning checks in a terminal, on the rendered
// screen: an answer cut at max_tokens ends with a dimmed
// " [cut at max_tokens]"; with --set chat.show_reasoning=true a reasoning
// model's reasoning streams dimmed on its own line(s) before the answer,
// which is not dimmed. Neither the mark, nor the cut answer, nor the
// reasoning enters the conversation the server sees next.
func TestChatbotPTYCutAndReasoning(t *testing.T) {
	// The reasoning streams, then at once the answer, with no pause
	// between them: term.chat shows all the reasoning the server sent
	// before the answer first, however its two readers are scheduled.
	thinking := llmtest.Reasoning("reasoning_content", []string{"The user", " wants more."}, "The", " end.")
	srv := llmtest.New(t,
		cutStream("Once upon", " a time"),
		thinking,
		llmtest.Stream("Bye."))
	cmd := chatCommand(srv.URL(), buildFlowrun(t), "run", "--set", "chat.show_reasoning=true", chatbotFlow)
	c := startPTY(t, cmd)
	c.scr.waitUntil(t, "the prompt", func(rows []string) bool { return rows[0] == "you>" })
	c.typeKeys("Story\r")
	c.scr.waitUntil(t, "the second prompt", func(rows []string) bool { return rows[2] == "you>" })
	c.typeKeys("More\r")
	c.scr.waitUntil(t, "the third prompt", func(rows []string) bool { return rows[5] == "you>" })
	c.typeKeys("Last\r")
	c.scr.waitUntil(t, "the fourth prompt", func(rows []string) bool { return rows[8] == "you>" })
	c.typeKeys("\x04")
	c.wantExit(0)
	<-c.copied

	rows := c.scr.rows()
	want := []string{"you> Story", "Once upon a time [cut at max_tokens]", "you> More", "The user wants more.", "The end.", "you> Last", "Bye.", "[7 prompt + 1 completion tokens]", "you>"}
	for i, w := range want {
		if rows[i] != w {
			t.Errorf("row %d is %q, want %q", i, rows[i], w)
		}
	}
	mark := strings.Index(rows[1], " [cut")
	for col := range len(rows[1]) {
		if faint := c.scr.faint(col, 1); faint != (col >= mark) {
			t.Errorf("row 1 column %d (%q): dimmed %v, want %v (only the mark is dimmed)", col, rows[1][col], faint, col >= mark)
		}
	}
	for col := range len(rows[3]) {
		if !c.scr.faint(col, 3) {
			t.Errorf("the reasoning is not dimmed at column %d", col)
		}
	}
	for col := range len(rows[4]) {
		if c.scr.faint(col, 4) {
			t.Errorf("the answer is dimmed at column %d", col)
		}
	}
	reqs := requestMessages(t, srv.Requests())
	if len(reqs) != 3 {
		t.Fatalf("the server saw %d requests, want 3", len(reqs))
	}
	wantLast := []chatMsg{{"system", chatSystem}, {"user", "Story"}, {"user", "More"}, {"assistant", "The end."}, {"user", "Last"}}
	if !reflect.DeepEqual(reqs[2], wantLast) {
		t.Errorf("third request: %+v\nwant %+v (no cut answer, no reasoning)", reqs[2], wantLast)
	}
	if t.Failed() {
		t.Logf("the screen:\n%s", c.scr.text())
	}
}

// lastRow returns the last non-empty row of rows and its index.
func lastRow(rows []string) (string, int) {
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i] != "" {
			return rows[i], i
		}
	}
	return "", -1
}

// TestChatbotSplitPTY uses flows/chatbot-split.yaml in a terminal as a
// person does, checking the rendered screen: the prompt shows; while an
// answer streams, text typed at the prompt stays intact on the last row
// with the answer growing above it; Ctrl-C cuts the answer (marked
// " [interrupted]", and kept in the conversation) and leaves the typed
// text at the prompt; the prompt, completed, is answered, with its token
// usage on the row after the answer, as in chatbot.yaml; /exit ends with 0.
func TestChatbotSplitPTY(t *testing.T) {
	story, pieces := slowStory()
	srv := llmtest.New(t, story, llmtest.Stream("Second", " answer."))
	c := startPTY(t, chatCommand(srv.URL(), buildFlowrun(t), chatbotSplitFlow))
	c.scr.waitUntil(t, "the prompt", func(rows []string) bool { return rows[0] == "you>" })
	c.typeKeys("Tell me a long story\r")
	c.typeKeys("typed meanwhile")
	shown := strings.Join(pieces[:8], "")
	c.scr.waitUntil(t, "the answer streaming above the typed text", func(rows []string) bool {
		last, i := lastRow(rows)
		return last == "you> typed meanwhile" && i >= 2 && strings.HasPrefix(rows[i-1], shown) && rows[0] == "you> Tell me a long story"
	})
	c.typeKeys("\x03") // Ctrl-C while the answer streams
	c.scr.waitUntil(t, "the interrupted answer, and the prompt with the typed text", func(rows []string) bool {
		last, i := lastRow(rows)
		return last == "you> typed meanwhile" && i >= 2 && strings.HasSuffix(rows[i-1], " [interrupted]")
	})
	c.typeKeys(" - and then?\r")
	c.scr.waitUntil(t, "the second answer and its usage", func(rows []string) bool {
		last, i := lastRow(rows)
		return last == "you>" && i >= 3 && rows[i-1] == "[7 prompt + 2 completion tokens]" && rows[i-2] == "Second answer." && rows[i-3] == "you> typed meanwhile - and then?"
	})
	c.typeKeys("/exit\r")
	c.wantExit(0)
	<-c.copied

	rows := c.scr.rows()
	if rows[0] != "you> Tell me a long story" || !strings.HasPrefix(rows[1], pieces[0]) {
		t.Errorf("the first rows are %q, %q: want the prompt line, then the answer from column 0", rows[0], rows[1])
	}
	if col, _ := c.scr.cursor(); col != 0 {
		t.Errorf("after the chat the cursor is at column %d, want 0", col)
	}
	reqs := requestMessages(t, srv.Requests())
	if len(reqs) != 2 || len(reqs[1]) != 4 {
		t.Fatalf("the server saw %+v; want 2 requests, the second with 4 messages", reqs)
	}
	partial, marked := strings.CutSuffix(reqs[1][2].Content, " [interrupted]")
	if reqs[1][2].Role != "assistant" || !marked || !strings.HasPrefix(strings.Join(pieces, ""), partial) || len(partial) < len(shown) {
		t.Errorf("the second request's assistant message is %+v: want the partial answer marked \" [interrupted]\"", reqs[1][2])
	}
	if t.Failed() {
		t.Logf("the screen:\n%s", c.scr.text())
	}
}

// TestChatbotSplitPTYEnd checks the other ways to end the split chatbot
// in a terminal: Ctrl-C at an idle prompt and Ctrl-D end with 0, SIGTERM
// while an answer streams ends with 130, promptly.
func TestChatbotSplitPTYEnd(t *testing.T) {
	bin := buildFlowrun(t)
	for _, tt := range []struct {
		name string
		keys string
		term bool
		code int
	}{
		{"ctrl-c", "\x03", false, 0},
		{"ctrl-d", "\x04", false, 0},
		{"sigterm", "", true, 130},
	} {
		t.Run(tt.name, func(t *testing.T) {
			story, pieces := slowStory()
			srv := llmtest.New(t, story)
			c := startPTY(t, chatCommand(srv.URL(), bin, chatbotSplitFlow))
			c.scr.waitUntil(t, "the prompt", func(rows []string) bool { return rows[0] == "you>" })
			if tt.term {
				c.typeKeys("Tell me a long story\r")
				c.scr.waitUntil(t, "the answer streaming", func(rows []string) bool { return strings.HasPrefix(rows[1], pieces[0]) })
				c.cmd.Process.Signal(syscall.SIGTERM)
			} else {
				c.typeKeys(tt.keys)
			}
			c.wantExit(tt.code)
		})
	}
}

// TestChatbotSplitPTYCut checks flows/chatbot-split.yaml in a terminal, on
// the rendered screen: an answer cut at max_tokens ends with a dimmed
// " [cut at max_tokens]" (only the mark dimmed), as in chatbot.yaml, and
// neither the mark nor the cut answer enters the conversation the server
// sees next.
func TestChatbotSplitPTYCut(t *testing.T) {
	srv := llmtest.New(t, cutStream("Once upon", " a time"), llmtest.Stream("The", " end."))
	c := startPTY(t, chatCommand(srv.URL(), buildFlowrun(t), chatbotSplitFlow))
	c.scr.waitUntil(t, "the prompt", func(rows []string) bool { return rows[0] == "you>" })
	c.typeKeys("Story\r")
	c.scr.waitUntil(t, "the cut answer, marked", func(rows []string) bool {
		last, i := lastRow(rows)
		return last == "you>" && i >= 1 && rows[i-1] == "Once upon a time [cut at max_tokens]"
	})
	c.typeKeys("More\r")
	c.scr.waitUntil(t, "the second answer", func(rows []string) bool {
		last, i := lastRow(rows)
		return last == "you>" && i >= 2 && rows[i-2] == "The end."
	})
	c.typeKeys("/exit\r")
	c.wantExit(0)
	<-c.copied

	rows := c.scr.rows()
	want := []string{"you> Story", "Once upon a time [cut at max_tokens]", "you> More", "The end.", "[7 prompt + 2 completion tokens]"}
	for i, w := range want {
		if rows[i] != w {
			t.Errorf("row %d is %q, want %q", i, rows[i], w)
		}
	}
	mark := strings.Index(rows[1], " [cut")
	for col := range len(rows[1]) {
		if faint := c.scr.faint(col, 1); faint != (mark >= 0 && col >= mark) {
			t.Errorf("row 1 column %d (%q): dimmed %v, want %v (only the mark is dimmed)", col, rows[1][col], faint, col >= mark)
		}
	}
	reqs := requestMessages(t, srv.Requests())
	if len(reqs) != 2 {
		t.Fatalf("the server saw %d requests, want 2", len(reqs))
	}
	wantLast := []chatMsg{{"system", chatSystem}, {"user", "Story"}, {"user", "More"}}
	if !reflect.DeepEqual(reqs[1], wantLast) {
		t.Errorf("second request: %+v\nwant %+v (no cut answer)", reqs[1], wantLast)
	}
	if t.Failed() {
		t.Logf("the screen:\n%s", c.scr.text())
	}
}
