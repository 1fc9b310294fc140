package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/flowrun/flowrun/internal/llm/llmtest"
	"github.com/flowrun/flowrun/internal/testenv"
)

// The browser test drives the page of flows/chatbot-web.yaml in headless
// Chromium (Debian's chromium package, which scripts/test-deps.sh
// installs): what a person does, as a person sees it. On failure it writes
// screenshots at a desktop and a phone width and names them; with
// FLOWRUN_WEB_SCREENSHOTS=DIR it writes them there in any case.

// chromiumPath returns the Chromium to drive, or stops the test.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "the browser test needs Chromium: apt-get install chromium (scripts/test-deps.sh installs it)")
	return ""
}

// browser starts headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // as root in a container
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
		// Chromium may take long to start on a loaded machine; the
		// default wait for its DevTools address is 20 s.
		chromedp.WSURLReadTimeout(time.Minute),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// screenshots writes the page at a desktop and a phone width into dir.
func screenshots(ctx context.Context, dir, prefix string) ([]string, error) {
	var files []string
	for _, size := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}} {
		var png []byte
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if size.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		if err := chromedp.Run(ctx,
			chromedp.EmulateViewport(size.width, size.height, opts...),
			chromedp.CaptureScreenshot(&png),
		); err != nil {
			return files, err
		}
		f := filepath.Join(dir, prefix+"-"+size.name+".png")
		if err := os.WriteFile(f, png, 0o644); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	return files, chromedp.Run(ctx, chromedp.EmulateViewport(1280, 800))
}

// step runs actions, failing the test with what it was doing, and with
// screenshots of the page, when they fail or take more than a minute.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Run(sctx, actions...); err != nil {
		dir := os.Getenv("FLOWRUN_WEB_SCREENSHOTS")
		if dir == "" {
			dir, _ = os.MkdirTemp("", "flowrun-web-")
		}
		var text string
		_ = chromedp.Run(ctx, chromedp.Text("#log", &text, chromedp.ByID))
		files, serr := screenshots(ctx, dir, "failure")
		t.Fatalf("%s: %v\nthe conversation shown:\n%s\nscreenshots: %v %v", what, err, text, files, serr)
	}
}

// enter presses Enter, with the modifiers (such as
// input.ModifierShift), as a keyboard does: one key-down event that
// carries the text "\r", which the browser turns into the keypress and
// the line break, so that a key-down handler that prevents the default
// action prevents the line break too. (chromedp's kb.Enter sends the
// line break as a separate "char" event, which the page cannot prevent:
// a line break was left in the emptied box after every Enter.)
func enter(modifiers input.Modifier) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		key := input.DispatchKeyEvent(input.KeyDown).WithKey("Enter").WithCode("Enter").
			WithWindowsVirtualKeyCode(13).WithNativeVirtualKeyCode(13).WithModifiers(modifiers)
		if err := key.WithText("\r").WithUnmodifiedText("\r").Do(ctx); err != nil {
			return err
		}
		key.Type, key.Text, key.UnmodifiedText = input.KeyUp, "", ""
		return key.Do(ctx)
	})
}

// poll waits until the JavaScript expression is true, for as long as its
// step allows (chromedp's own 30 s limit is turned off).
func poll(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(0))
}

func TestWebChatInBrowser(t *testing.T) {
	ctx := browser(t)
	// The first answer streams "Once" and waits (for Stop); the second
	// is whole.
	first := llmtest.Stream("Once", " upon")
	first.Steps = append(first.Steps[:2:2], llmtest.Sleep(10*time.Minute))
	llm := llmtest.New(t, first, llmtest.Stream("Fine", ", ", "thanks."))
	base := startWebChat(t, llm)

	answer := func(turn int) string {
		return fmt.Sprintf(`document.querySelector('.bot[data-turn="%d"]')`, turn)
	}
	step(t, ctx, "open the page",
		chromedp.Navigate(base),
		poll(`document.getElementById("status").textContent === "connected"`),
	)
	// The box is emptied as Enter is pressed, not when the server has
	// answered the prompt's request: what is typed next, at once, starts
	// the next prompt.
	var left string
	step(t, ctx, "type a prompt with HTML in it and press Enter",
		chromedp.Focus("#prompt", chromedp.ByID),
		chromedp.SendKeys("#prompt", "Tell a <b>story</b>", chromedp.ByID),
		enter(0),
		chromedp.Evaluate(`document.getElementById("prompt").value`, &left),
		poll(`document.querySelector('.you[data-turn="1"]')?.textContent === "Tell a <b>story</b>"`),
	)
	if left != "" {
		t.Errorf("right after Enter the prompt box holds %q, want it empty", left)
	}
	step(t, ctx, "see the first token before the answer is complete",
		poll(answer(1)+`?.textContent === "Once" && !document.getElementById("stop").disabled`),
	)
	step(t, ctx, "type a second prompt on two lines (Shift+Enter) while the answer streams, and send it",
		chromedp.SendKeys("#prompt", "How are", chromedp.ByID),
		enter(input.ModifierShift),
		chromedp.SendKeys("#prompt", "you?", chromedp.ByID),
		enter(0),
		chromedp.Evaluate(`document.getElementById("prompt").value`, &left),
		poll(`document.querySelector('.you[data-turn="2"]')?.textContent === "How are\nyou?"`),
	)
	if left != "" {
		t.Errorf("right after Enter the prompt box holds %q, want it empty", left)
	}
	step(t, ctx, "press Stop: the first answer is cut and marked, the second streams",
		chromedp.Click("#stop", chromedp.ByID),
		poll(answer(1)+`?.textContent === "Once [interrupted]"`),
		poll(answer(2)+`?.querySelector(".text")?.textContent === "Fine, thanks."`),
		poll(answer(2)+`?.querySelector(".usage") !== null`),
		poll(`document.getElementById("stop").disabled`),
	)
	var bold int
	step(t, ctx, "no HTML from the conversation is interpreted",
		chromedp.Evaluate(`document.querySelectorAll("#log b").length`, &bold),
	)
	if bold != 0 {
		t.Errorf("the page made %d <b> elements out of the prompt", bold)
	}
	if dir := os.Getenv("FLOWRUN_WEB_SCREENSHOTS"); dir != "" {
		files, err := screenshots(ctx, dir, "chat")
		t.Logf("screenshots: %v %v", files, err)
	}
	step(t, ctx, "reload: the whole conversation is shown again",
		chromedp.Reload(),
		poll(`document.querySelectorAll(".you").length === 2`),
		poll(answer(1)+`?.textContent === "Once [interrupted]"`),
		poll(answer(2)+`?.querySelector(".text")?.textContent === "Fine, thanks."`),
	)
	var overflow bool
	step(t, ctx, "the page fits a phone's width",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow),
		chromedp.EmulateViewport(1280, 800),
	)
	if overflow {
		t.Error("the page is wider than a phone's screen")
	}
	msgs := requestMessages(t, llm.Requests())
	if len(msgs) != 2 || !strings.Contains(fmt.Sprint(msgs[1]), "Once [interrupted]") {
		t.Errorf("the model was asked %v; want the cut answer kept in the second request", msgs)
	}
}
