package editor_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/internal/testenv"
)

// lspTimeout bounds each exchange with the language server, so that a
// server that stops answering fails the test instead of hanging it.
const lspTimeout = 60 * time.Second

// A position in a text document, zero-based, as LSP counts it (UTF-16
// code units; the flows are ASCII).
type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type lspRange struct {
	Start position `json:"start"`
	End   position `json:"end"`
}

type diagnostic struct {
	Range    lspRange `json:"range"`
	Severity int      `json:"severity"`
	Message  string   `json:"message"`
	Source   string   `json:"source"`
}

type completionItem struct {
	Label         string          `json:"label"`
	Kind          int             `json:"kind"`
	Detail        string          `json:"detail"`
	Documentation json.RawMessage `json:"documentation"`
	InsertText    string          `json:"insertText"`
	SortText      string          `json:"sortText"`
}

// doc returns the item's documentation as text, whether the server sent
// a string or a MarkupContent.
func (c completionItem) doc() string { return markupText(c.Documentation) }

func markupText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var m struct {
		Value string `json:"value"`
	}
	_ = json.Unmarshal(raw, &m)
	return m.Value
}

type rpcMessage struct {
	JSONRPC string           `json:"jsonrpc"`
	ID      *json.RawMessage `json:"id,omitempty"`
	Method  string           `json:"method,omitempty"`
	Params  json.RawMessage  `json:"params,omitempty"`
	Result  json.RawMessage  `json:"result,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// An lspClient talks to one yaml-language-server process over its
// standard input and output.
type lspClient struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	done   chan struct{} // closed when the reader stops

	mu       sync.Mutex
	nextID   int
	pending  map[int]chan rpcMessage
	diags    map[string]chan []diagnostic
	readErr  error
	settings map[string]any
}

// startServer starts the language server installed in node_modules with
// serverSettings, initializes it, waits until it applies the settings and
// stops it when the test ends.
func startServer(t *testing.T) *lspClient {
	t.Helper()
	node := requireNode(t)
	script := filepath.Join(requirePackage(t, "yaml-language-server"), "bin", "yaml-language-server")
	c := &lspClient{
		t:        t,
		done:     make(chan struct{}),
		pending:  map[int]chan rpcMessage{},
		diags:    map[string]chan []diagnostic{},
		settings: serverSettings(),
	}
	c.cmd = exec.Command(node, script, "--stdio")
	c.cmd.Stderr = &lockedWriter{mu: &c.mu, w: &c.stderr}
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting yaml-language-server: %v", err)
	}
	go c.read(bufio.NewReader(stdout))
	t.Cleanup(c.stop)

	root := "file://" + repoRoot(t)
	c.call("initialize", map[string]any{
		"processId": os.Getpid(),
		"rootUri":   root,
		"capabilities": map[string]any{
			"workspace": map[string]any{"configuration": true},
			"textDocument": map[string]any{
				"completion": map[string]any{
					"completionItem": map[string]any{
						"snippetSupport":      true,
						"documentationFormat": []string{"markdown", "plaintext"},
					},
				},
				"hover":              map[string]any{"contentFormat": []string{"markdown", "plaintext"}},
				"publishDiagnostics": map[string]any{"relatedInformation": true},
			},
		},
		"workspaceFolders": []any{map[string]any{"uri": root, "name": "flowrun"}},
	}, nil)
	c.notify("initialized", map[string]any{})
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"yaml": c.settings}})
	c.awaitSettings()
	return c
}

// awaitSettings returns once the server applies the settings, which it
// does asynchronously (it asks for them with workspace/configuration): a
// document that only the yaml.schemas setting gives a schema, with a
// mistake (serverSettings maps broken-*.yaml to the flow schema), is
// flagged then. Without this, a document opened first could
// be validated with no schema at all.
func (c *lspClient) awaitSettings() {
	c.t.Helper()
	d := c.open(filepath.Join(c.t.TempDir(), "broken-settings.yaml"), "nodes:\n  a: {type: nope}\n")
	defer d.close()
	for len(d.diagnostics()) == 0 {
	}
}

// lockedWriter serializes writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (c *lspClient) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.readErr == nil {
		_ = c.callCtx(ctx, "shutdown", nil, nil)
		c.notify("exit", nil)
	}
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-ctx.Done():
	}
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// read reads messages from the server until its output ends.
func (c *lspClient) read(r *bufio.Reader) {
	defer close(c.done)
	tp := textproto.NewReader(r)
	for {
		hdr, err := tp.ReadMIMEHeader()
		if err != nil {
			c.fail(fmt.Errorf("reading a message header: %w", err))
			return
		}
		n, err := strconv.Atoi(hdr.Get("Content-Length"))
		if err != nil || n < 0 || n > 64<<20 {
			c.fail(fmt.Errorf("bad Content-Length %q", hdr.Get("Content-Length")))
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			c.fail(fmt.Errorf("reading a message body: %w", err))
			return
		}
		var m rpcMessage
		if err := json.Unmarshal(body, &m); err != nil {
			c.fail(fmt.Errorf("decoding %s: %w", body, err))
			return
		}
		switch {
		case m.ID != nil && m.Method != "":
			c.answer(m)
		case m.ID != nil:
			var id int
			if json.Unmarshal(*m.ID, &id) == nil {
				c.mu.Lock()
				ch := c.pending[id]
				delete(c.pending, id)
				c.mu.Unlock()
				if ch != nil {
					ch <- m
				}
			}
		case m.Method == "textDocument/publishDiagnostics":
			var p struct {
				URI         string       `json:"uri"`
				Diagnostics []diagnostic `json:"diagnostics"`
			}
			if err := json.Unmarshal(m.Params, &p); err == nil {
				c.diagChan(p.URI) <- p.Diagnostics
			}
		}
	}
}

func (c *lspClient) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readErr == nil {
		c.readErr = err
	}
}

// answer replies to a request of the server: the yaml settings for
// workspace/configuration, null for anything else.
func (c *lspClient) answer(m rpcMessage) {
	var result any
	if m.Method == "workspace/configuration" {
		var p struct {
			Items []struct {
				Section string `json:"section"`
			} `json:"items"`
		}
		_ = json.Unmarshal(m.Params, &p)
		res := make([]any, len(p.Items))
		for i, it := range p.Items {
			if it.Section == "yaml" {
				res[i] = c.settings
			}
		}
		result = res
	}
	c.write(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
}

func (c *lspClient) diagChan(uri string) chan []diagnostic {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.diags[uri]
	if ch == nil {
		ch = make(chan []diagnostic, 64)
		c.diags[uri] = ch
	}
	return ch
}

func (c *lspClient) write(msg any) {
	body, err := json.Marshal(msg)
	if err != nil {
		c.t.Errorf("encoding %v: %v", msg, err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// A write error shows as the server's missing answer.
	_, _ = fmt.Fprintf(c.stdin, "Content-Length: %d\r\n\r\n%s", len(body), body)
}

func (c *lspClient) notify(method string, params any) {
	c.write(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// call sends a request and decodes its result into out (if not nil).
func (c *lspClient) call(method string, params, out any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lspTimeout)
	defer cancel()
	if err := c.callCtx(ctx, method, params, out); err != nil {
		c.t.Fatalf("%s: %v\nserver stderr:\n%s", method, err, c.stderrText())
	}
}

func (c *lspClient) callCtx(ctx context.Context, method string, params, out any) error {
	ch := make(chan rpcMessage, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	c.write(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("error %d: %s", m.Error.Code, m.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-c.done:
		return fmt.Errorf("the server stopped: %v", c.readErr)
	case <-ctx.Done():
		return fmt.Errorf("no answer within %v", lspTimeout)
	}
}

func (c *lspClient) stderrText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// A document open in the server.
type document struct {
	c    *lspClient
	uri  string
	text string
}

// open opens text as the document at path (absolute; it need not exist,
// but a relative $schema in a modeline is resolved against it).
func (c *lspClient) open(path, text string) *document {
	uri := "file://" + path
	c.notify("textDocument/didOpen", map[string]any{
		"textDocument": map[string]any{"uri": uri, "languageId": "yaml", "version": 1, "text": text},
	})
	return &document{c: c, uri: uri, text: text}
}

// diagnostics waits for the diagnostics the server publishes for d.
func (d *document) diagnostics() []diagnostic {
	d.c.t.Helper()
	select {
	case ds := <-d.c.diagChan(d.uri):
		return ds
	case <-d.c.done:
		d.c.t.Fatalf("the server stopped before publishing diagnostics for %s: %v\n%s", d.uri, d.c.readErr, d.c.stderrText())
	case <-time.After(lspTimeout):
		d.c.t.Fatalf("no diagnostics for %s within %v\n%s", d.uri, lspTimeout, d.c.stderrText())
	}
	return nil
}

func (d *document) close() {
	d.c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": d.uri}})
}

// at returns the position just after the first occurrence of marker in
// the document, failing the test when it is missing.
func (d *document) at(marker string) position {
	d.c.t.Helper()
	i := strings.Index(d.text, marker)
	if i < 0 {
		d.c.t.Fatalf("%q is not in the document:\n%s", marker, d.text)
	}
	return offsetPosition(d.text, i+len(marker))
}

func offsetPosition(text string, off int) position {
	before := text[:off]
	line := strings.Count(before, "\n")
	col := off - (strings.LastIndex(before, "\n") + 1)
	return position{Line: line, Character: col}
}

func (d *document) completion(p position) []completionItem {
	d.c.t.Helper()
	var res struct {
		Items []completionItem `json:"items"`
	}
	d.c.call("textDocument/completion", map[string]any{
		"textDocument": map[string]any{"uri": d.uri},
		"position":     p,
	}, &res)
	return res.Items
}

// hover returns the hover text at p, "" if none.
func (d *document) hover(p position) string {
	d.c.t.Helper()
	var res *struct {
		Contents json.RawMessage `json:"contents"`
	}
	d.c.call("textDocument/hover", map[string]any{
		"textDocument": map[string]any{"uri": d.uri},
		"position":     p,
	}, &res)
	if res == nil {
		return ""
	}
	return markupText(res.Contents)
}

// requireNode returns the path of node. When node is missing the test
// stops naming it: skipped under go test, failed under make test
// (testenv.Missing).
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not on PATH: the editor tests run the real yaml-language-server and Ajv under Node.js (apt-get install nodejs npm, then scripts/test-deps.sh)")
	}
	return node
}

// requirePackage returns the directory of the npm package name installed
// in tests/editor/node_modules, stopping the test like requireNode when it
// is missing.
func requirePackage(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(editorDir(t), "node_modules", name)
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		testenv.Missing(t, "the npm package %s is not installed in tests/editor: run scripts/test-deps.sh (or make test)", name)
	}
	return dir
}

// editorDir is tests/editor, the directory of this test.
func editorDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join(editorDir(t), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s is not the repository root: %v", root, err)
	}
	return root
}
