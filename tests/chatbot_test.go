package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/flowcli"
	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/internal/testenv"
)

// The chatbot tests run flows/chatbot.yaml and flows/chatbot-split.yaml
// the way users do: in a pipe through the CLI (in-process, against the fake
// server of internal/llm/llmtest, and as the built binary against the real
// local model of tests/llmserver), in a real pseudo-terminal
// (chatbot_pty_test.go), and for time to first token
// (chatbot_bench_test.go).
//
// flowcli.Main reads the environment with os.Getenv, so the tests that run it
// set OPENAI_BASE_URL with t.Setenv and are not parallel.

const (
	chatbotFlow      = "../flows/chatbot.yaml"
	chatbotSplitFlow = "../flows/chatbot-split.yaml"
	chatSystem       = "You are a test."
	chatModel        = "test-model"
)

// chatMsg is one message of a request's conversation.
type chatMsg struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// setChatEnv points the chatbot at baseURL with a known model and system
// prompt, and no API key.
func setChatEnv(t *testing.T, baseURL string) {
	t.Helper()
	t.Setenv("OPENAI_BASE_URL", baseURL)
	t.Setenv("OPENAI_MODEL", chatModel)
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("GROQ_API_KEY", "")
	t.Setenv("FLOWRUN_SYSTEM_PROMPT", chatSystem)
}

// runChatCLI runs "flowrun run FLOW" in-process with stdin and returns the
// exit code, stdout and stderr. It fails the test when the run takes more
// than a minute.
func runChatCLI(t *testing.T, flow, stdin string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code = flowcli.Main(ctx, []string{"flowrun", "run", flow}, nil, strings.NewReader(stdin), &out, &errOut)
	if ctx.Err() != nil {
		t.Fatalf("flowrun run %s did not end within a minute\nstdout:\n%s\nstderr:\n%s", flow, out.String(), errOut.String())
	}
	return code, out.String(), errOut.String()
}

// requestMessages decodes the messages of each request the fake server saw,
// checking that each was a streamed chat-completions request for chatModel.
func requestMessages(t *testing.T, reqs []llmtest.Request) [][]chatMsg {
	t.Helper()
	all := make([][]chatMsg, len(reqs))
	for i, r := range reqs {
		if r.Method != http.MethodPost || r.Path != "/v1/chat/completions" {
			t.Errorf("request %d: %s %s, want POST /v1/chat/completions", i+1, r.Method, r.Path)
		}
		if r.Body["stream"] != true || r.Body["model"] != chatModel {
			t.Errorf("request %d: stream %v, model %v; want true, %q", i+1, r.Body["stream"], r.Body["model"], chatModel)
		}
		raw, err := json.Marshal(r.Body["messages"])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &all[i]); err != nil {
			t.Fatalf("request %d: messages: %v in %s", i+1, err, r.Raw)
		}
	}
	return all
}

// conversation builds the messages of a request: the system prompt, then
// alternately user and assistant messages.
func conversation(system string, turns ...string) []chatMsg {
	msgs := []chatMsg{{"system", system}}
	for i, c := range turns {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		msgs = append(msgs, chatMsg{role, c})
	}
	return msgs
}

// checkRequests compares the conversations the server saw with want.
func checkRequests(t *testing.T, srv *llmtest.Server, want ...[]chatMsg) {
	t.Helper()
	got := requestMessages(t, srv.Requests())
	if len(got) != len(want) {
		t.Errorf("the server saw %d requests, want %d:\n%+v", len(got), len(want), got)
		return
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("request %d messages:\n got %+v\nwant %+v", i+1, got[i], want[i])
		}
	}
}

// chatErrorLines splits stderr into term.chat's "error: " lines and the
// other lines, leaving out usage lines ("[N prompt + M completion tokens]").
func chatErrorLines(stderr string) (errs, other []string) {
	for _, l := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		switch {
		case l == "", usageLine.MatchString(l):
		case strings.HasPrefix(l, "error: "):
			errs = append(errs, l)
		default:
			other = append(other, l)
		}
	}
	return errs, other
}

// wantSummary checks that the last line of stderr is exactly the
// chatbot's summary of failed answers, and returns stderr without it.
func wantSummary(t *testing.T, stderr, summary string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if last != summary {
		t.Errorf("the last line of stderr is %q, want the summary %q", last, summary)
		return stderr
	}
	return strings.Join(lines[:len(lines)-1], "\n") + "\n"
}

var usageLine = regexp.MustCompile(`^\[\d+ prompt \+ \d+ completion tokens\]$`)

// TestChatbotPipe pipes a conversation of three turns into the chatbot:
// each answer, streamed in several pieces, is printed on its own line in
// order, the flow exits 0 at the end of input, and each request carries the
// whole conversation so far with the answers exactly as streamed.
func TestChatbotPipe(t *testing.T) {
	srv := llmtest.New(t,
		llmtest.Stream("Hel", "lo, ", "human."),
		llmtest.Stream("Two", " plus ", "two", " is four."),
		llmtest.Stream("Good", "bye!"),
	)
	setChatEnv(t, srv.URL())
	code, stdout, stderr := runChatCLI(t, chatbotFlow, "Hello\n\nWhat is 2+2?\nBye")
	if code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	if want := "Hello, human.\nTwo plus two is four.\nGoodbye!\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if errs, other := chatErrorLines(stderr); len(errs)+len(other) > 0 {
		t.Errorf("stderr has more than usage lines:\n%s", stderr)
	}
	if n := strings.Count(stderr, "[7 prompt + "); n != 3 {
		t.Errorf("stderr shows the usage of %d answers, want 3:\n%s", n, stderr)
	}
	checkRequests(t, srv,
		conversation(chatSystem, "Hello"),
		conversation(chatSystem, "Hello", "Hello, human.", "What is 2+2?"),
		conversation(chatSystem, "Hello", "Hello, human.", "What is 2+2?", "Two plus two is four.", "Bye"),
	)
	if n := srv.Unscripted(); n != 0 {
		t.Errorf("%d requests beyond the script", n)
	}
}

// closedPortURL returns a base URL on 127.0.0.1 where nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

// TestChatbotServerDown runs both chatbots with no server: each prompt
// gets one line on stderr naming the server and how to start the local
// one, the conversation goes on to the next prompt, and at the end a last
// line says exactly "2 of 2 answers failed" and the exit is 1, so a script
// can tell.
func TestChatbotServerDown(t *testing.T) {
	for _, flow := range []string{chatbotFlow, chatbotSplitFlow} {
		t.Run(filepath.Base(flow), func(t *testing.T) {
			url := closedPortURL(t)
			setChatEnv(t, url)
			code, stdout, stderr := runChatCLI(t, flow, "Hello\nAnyone there?\n")
			t.Logf("stderr:\n%s", stderr)
			if code != 1 {
				t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			stderr = wantSummary(t, stderr, "2 of 2 answers failed")
			errs, other := chatErrorLines(stderr)
			if len(other) > 0 {
				t.Errorf("stderr has lines besides the error lines:\n%s", strings.Join(other, "\n"))
			}
			if len(errs) != 2 {
				t.Fatalf("stderr has %d error lines, want one per prompt (2):\n%s", len(errs), stderr)
			}
			for _, l := range errs {
				if !strings.Contains(l, "no server answers at "+url) || !strings.Contains(l, "make chat") {
					t.Errorf("error line does not name the server %s and `make chat`:\n%s", url, l)
				}
			}
		})
	}
}

// TestChatbotFailedAnswers checks the two failures of a server that
// answers: HTTP 500 after every retry, and a stream cut before the server
// said the answer was complete. Each is one line on stderr, the
// conversation goes on, and neither failed answer enters the history: the
// next request has the two user messages in a row. All four prompts are
// answered, then the last line counts the failures and the exit is 1.
func TestChatbotFailedAnswers(t *testing.T) {
	fail500 := llmtest.Error(http.StatusInternalServerError, `{"error":{"message":"the model crashed","type":"server_error"}}`)
	fail500.Header = map[string]string{"retry-after-ms": "1"} // keep the retries quick
	cut := llmtest.Response{Steps: []llmtest.Step{
		llmtest.Data(llmtest.Chunk(map[string]any{"role": "assistant", "content": ""}, nil)),
		llmtest.Data(llmtest.Chunk(map[string]any{"content": "Half an ans"}, nil)),
		llmtest.Disconnect(),
	}}
	srv := llmtest.New(t,
		fail500, fail500, fail500, // the first attempt and two retries
		llmtest.Stream("Fine", " again."),
		cut,
		llmtest.Stream("Still", " here."),
	)
	setChatEnv(t, srv.URL())
	code, stdout, stderr := runChatCLI(t, chatbotFlow, "one\ntwo\nthree\nfour\n")
	t.Logf("stderr:\n%s", stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1 (answers failed); stderr:\n%s", code, stderr)
	}
	stderr = wantSummary(t, stderr, "2 of 4 answers failed")
	// The cut answer's piece was printed as it streamed, then its line ended.
	if want := "Fine again.\nHalf an ans\nStill here.\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	errs, other := chatErrorLines(stderr)
	if len(other) > 0 {
		t.Errorf("stderr has lines besides the error and usage lines:\n%s", strings.Join(other, "\n"))
	}
	if len(errs) != 2 {
		t.Fatalf("stderr has %d error lines, want 2:\n%s", len(errs), stderr)
	}
	if !strings.Contains(errs[0], srv.URL()) || !strings.Contains(errs[0], "500") || !strings.Contains(errs[0], "the model crashed") {
		t.Errorf("the 500 is not reported with the server, the status and the message: %s", errs[0])
	}
	if !strings.Contains(errs[1], srv.URL()) || !regexp.MustCompile(`(?i)truncated|before the end|cut|incomplete|unexpected EOF`).MatchString(errs[1]) {
		t.Errorf("the cut stream is not reported as such with the server: %s", errs[1])
	}
	sys, u1, u2, a2, u3, u4 := chatMsg{"system", chatSystem}, chatMsg{"user", "one"}, chatMsg{"user", "two"},
		chatMsg{"assistant", "Fine again."}, chatMsg{"user", "three"}, chatMsg{"user", "four"}
	first := []chatMsg{sys, u1}
	checkRequests(t, srv,
		first, first, first,
		[]chatMsg{sys, u1, u2},
		[]chatMsg{sys, u1, u2, a2, u3},
		[]chatMsg{sys, u1, u2, a2, u3, u4},
	)
}

// TestChatbotSplit pipes three prompts into flows/chatbot-split.yaml, whose
// input node reads ahead without waiting for the answers: the answers are
// still printed in order, one per line, each request carries the
// conversation so far, the token usage of each answer is one line on
// stderr, and the exit is 0.
func TestChatbotSplit(t *testing.T) {
	srv := llmtest.New(t,
		llmtest.Stream("First", " answer."),
		llmtest.Stream("Second", " answer."),
		llmtest.Stream("Third", " answer."),
	)
	setChatEnv(t, srv.URL())
	code, stdout, stderr := runChatCLI(t, chatbotSplitFlow, "a\nb\nc\n")
	if code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	if want := "First answer.\nSecond answer.\nThird answer.\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if errs, other := chatErrorLines(stderr); len(errs)+len(other) > 0 {
		t.Errorf("stderr:\n%s", stderr)
	}
	if n := len(regexp.MustCompile(`(?m)^\[\d+ prompt \+ \d+ completion tokens\]$`).FindAllString(stderr, -1)); n != 3 {
		t.Errorf("stderr shows the usage of %d answers, want 3:\n%s", n, stderr)
	}
	checkRequests(t, srv,
		conversation(chatSystem, "a"),
		conversation(chatSystem, "a", "First answer.", "b"),
		conversation(chatSystem, "a", "First answer.", "b", "Second answer.", "c"),
	)
}

// A watchBuffer collects a process's output and lets a test wait, with a
// deadline, for text to appear in it.
type watchBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at each write
	closed  bool
}

func newWatchBuffer() *watchBuffer { return &watchBuffer{changed: make(chan struct{})} }

func (b *watchBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

// Close says that no more output will come: waits fail at once.
func (b *watchBuffer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.changed)
	}
}

func (b *watchBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitMatch waits until re matches the output from offset from on and
// returns the submatches and the offset just past the match. It fails the
// test when the output ends or d passes first.
func (b *watchBuffer) waitMatch(t *testing.T, from int, re *regexp.Regexp, d time.Duration) (match []string, end int) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		text := b.buf.String()
		changed, closed := b.changed, b.closed
		b.mu.Unlock()
		if from > len(text) {
			from = len(text)
		}
		if loc := re.FindStringSubmatchIndex(text[from:]); loc != nil {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = text[from+loc[2*i] : from+loc[2*i+1]]
				}
			}
			return m, from + loc[1]
		}
		if closed {
			t.Fatalf("the output ended without %q; it was:\n%s", re, text)
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no %q within %v; the output was:\n%s", re, d, text)
		}
	}
}

// waitFor waits for the literal text s after offset from and returns the
// offset just past it.
func (b *watchBuffer) waitFor(t *testing.T, from int, s string, d time.Duration) int {
	t.Helper()
	_, end := b.waitMatch(t, from, regexp.MustCompile(regexp.QuoteMeta(s)), d)
	return end
}

// buildFlowrun builds cmd/flowrun into a temporary directory, as users
// build it, and returns the binary's path.
func buildFlowrun(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "flowrun")
	cmd := exec.Command(goBin, "build", "-o", bin, "../cmd/flowrun")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/flowrun: %v\n%s", err, out)
	}
	return bin
}

// startLLMServer starts tests/llmserver/server.mjs on a free port with one
// inference thread and the test model, waits for its "listening on" line
// and returns its root URL ("http://127.0.0.1:PORT"). The server is killed
// when the test ends. The test is skipped when node, the server's
// node_modules or the model (FLOWRUN_TEST_GGUF, by default
// ../shared/models/stories260K.gguf beside the repository) is missing.
func startLLMServer(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not installed (apt-get install nodejs npm)")
	}
	dir, err := filepath.Abs("llmserver")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-llama-cpp")); err != nil {
		testenv.Missing(t, "tests/llmserver/node_modules is missing: run scripts/test-deps.sh (or make test)")
	}
	model := os.Getenv("FLOWRUN_TEST_GGUF")
	if model == "" {
		model = filepath.Join("..", "..", "shared", "models", "stories260K.gguf")
	}
	if model, err = filepath.Abs(model); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(model); err != nil {
		testenv.Missing(t, "the test model %s is missing (set FLOWRUN_TEST_GGUF)", model)
	}

	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MODEL_PATH="+model, "PORT=0", "THREADS=1", "NODE_LLAMA_CPP_SKIP_DOWNLOAD=true")
	stdout, stderr := newWatchBuffer(), newWatchBuffer()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		stdout.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("llmserver stderr:\n%s", stderr.String())
		}
	})
	m, _ := stdout.waitMatch(t, 0, regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)\n`), 90*time.Second)
	return m[1]
}

// chunkEvent is an event of "flowrun run --events" that the real-model
// test reads.
type chunkEvent struct {
	Event   string         `json:"event"`
	Node    string         `json:"node"`
	Run     int            `json:"run"`
	Output  string         `json:"output"`
	Value   any            `json:"value"`
	Outputs map[string]any `json:"outputs"`
	Error   string         `json:"error"`
}

// TestChatbotRealModel pipes a conversation of three turns into the built
// flowrun binary running flows/chatbot.yaml against the real local model
// (tests/llmserver serving stories260K). It checks that real tokens
// streamed (several chunks per answer, and stdout has each whole answer in
// order) and that the exit was 0. The model never ends a story within the
// server's 128-token default, so every answer is cut at max_tokens: each
// gets a note on stderr, and none enters the history (the server saw the
// prompts only: 2, 3 and 4 messages).
func TestChatbotRealModel(t *testing.T) {
	root := startLLMServer(t)
	bin := buildFlowrun(t)
	events := filepath.Join(t.TempDir(), "events.jsonl")
	prompts := []string{"Once upon a time", "Lily went to the park", "The end"}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--events", events, chatbotFlow)
	cmd.Env = append(os.Environ(), "OPENAI_BASE_URL="+root+"/v1", "OPENAI_MODEL=stories260k",
		"OPENAI_API_KEY=", "FLOWRUN_SYSTEM_PROMPT="+chatSystem)
	cmd.Stdin = strings.NewReader(strings.Join(prompts, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatalf("flowrun: %v (want exit 0)", err)
	}

	// What llm.chat streamed: the chunks of each run, and its final value.
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunks := map[int][]string{}
	var answers []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e chunkEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("events: %v in %s", err, sc.Bytes())
		}
		if e.Node != "reply" {
			continue
		}
		switch {
		case e.Event == "chunk" && e.Output == "out":
			s, _ := e.Value.(string)
			chunks[e.Run] = append(chunks[e.Run], s)
		case e.Event == "end":
			if e.Error != "" {
				t.Errorf("answer %d failed: %s", e.Run, e.Error)
			}
			s, _ := e.Outputs["out"].(string)
			answers = append(answers, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(answers) != len(prompts) {
		t.Fatalf("llm.chat answered %d times, want %d", len(answers), len(prompts))
	}
	for i, a := range answers {
		if len(chunks[i+1]) < 2 || strings.TrimSpace(a) == "" || strings.Join(chunks[i+1], "") != a {
			t.Errorf("answer %d: %d chunks %q, whole answer %q: want real tokens streamed in several chunks", i+1, len(chunks[i+1]), chunks[i+1], a)
		}
	}
	if want := strings.Join(answers, "\n") + "\n"; stdout.String() != want {
		t.Errorf("stdout is not the answers in order, one after the other:\n got %q\nwant %q", stdout.String(), want)
	}

	// The server saw the prompts pile up, without the cut answers.
	resp, err := http.Get(root + "/debug/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var seen [][]chatMsg
	if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stderr.String(), "note: the answer was cut at max_tokens"); n != len(prompts) {
		t.Errorf("stderr has %d notes of answers cut at max_tokens, want %d", n, len(prompts))
	}
	sys := chatMsg{"system", chatSystem}
	u := func(i int) chatMsg { return chatMsg{"user", prompts[i]} }
	want := [][]chatMsg{{sys, u(0)}, {sys, u(0), u(1)}, {sys, u(0), u(1), u(2)}}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("the server saw:\n%+v\nwant:\n%+v", seen, want)
	}
}

// cutStream is a stream that the server's token limit cut: its
// finish_reason is "length".
func cutStream(pieces ...string) llmtest.Response {
	steps := []llmtest.Step{llmtest.Data(llmtest.Chunk(map[string]any{"role": "assistant", "content": nil}, nil))}
	for _, p := range pieces {
		steps = append(steps, llmtest.Data(llmtest.Chunk(map[string]any{"content": p}, nil)))
	}
	steps = append(steps, llmtest.Data(llmtest.Chunk(map[string]any{}, "length")), llmtest.Done())
	return llmtest.Response{Steps: steps}
}

// TestChatbotCutAnswerPipe pipes two prompts to both chatbots; the token
// limit cut the first answer: it is printed whole, a note on stderr says
// it was cut, the exit is 0 (nothing failed), and the cut answer is not in
// the next request's conversation.
func TestChatbotCutAnswerPipe(t *testing.T) {
	for _, flow := range []string{chatbotFlow, chatbotSplitFlow} {
		t.Run(filepath.Base(flow), func(t *testing.T) {
			srv := llmtest.New(t, cutStream("Once upon", " a time there"), llmtest.Stream("The", " end."))
			setChatEnv(t, srv.URL())
			code, stdout, stderr := runChatCLI(t, flow, "Tell a story\nAgain\n")
			if code != 0 {
				t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			if want := "Once upon a time there\nThe end.\n"; stdout != want {
				t.Errorf("stdout = %q, want %q", stdout, want)
			}
			if !strings.Contains(stderr, "note: the answer was cut at max_tokens") || strings.Contains(stdout, "cut at") {
				t.Errorf("stderr has no note on the cut answer, or stdout has it:\nstderr:\n%s", stderr)
			}
			if strings.Count(stderr, "cut at max_tokens") != 1 {
				t.Errorf("want exactly one note (for the first answer):\n%s", stderr)
			}
			checkRequests(t, srv,
				conversation(chatSystem, "Tell a story"),
				[]chatMsg{{"system", chatSystem}, {"user", "Tell a story"}, {"user", "Again"}},
			)
		})
	}
}
