package tests

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/flowrun/flowrun/internal/webchat"
)

// TestWebChatRestartInBrowser shows the page an answer whose stream starts
// over (what web.output sends when llm.chat's worker dies mid-answer:
// builtin's TestWebOutputAnswerRestarts and the engine's restream tests
// cover the sending): the partial answer stays, dimmed and marked, the new
// one follows in the same message, and a reload shows the same.
func TestWebChatRestartInBrowser(t *testing.T) {
	ctx := browser(t)
	h, err := webchat.New(webchat.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	h.Acquire()
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Release(context.Background()) })
	base := "http://" + h.Addr() + "/"

	step(t, ctx, "open the page",
		chromedp.Navigate(base),
		poll(`document.getElementById("status").textContent === "connected"`),
	)
	if _, err := h.Submit("Tell a story"); err != nil {
		t.Fatal(err)
	}
	turn := h.BeginAnswer()
	h.Publish(webchat.Event{Type: "reasoning", Turn: turn, Text: "Hmm."})
	h.Publish(webchat.Event{Type: "chunk", Turn: turn, Text: "Once up"})
	const bot = `document.querySelector('.bot[data-turn="1"]')`
	step(t, ctx, "see the partial answer stream",
		poll(bot+`?.querySelector(".text")?.textContent === "Once up"`),
	)
	h.RestartAnswer(turn)
	const mark = " [the answer was lost mid-stream; it starts over]"
	step(t, ctx, "the answer starts over: the partial one is marked lost, the page waits for the new one",
		poll(bot+`?.querySelector(".lost")?.textContent === "Once up"`),
		poll(bot+`?.querySelector(".mark")?.textContent === "`+mark+`"`),
		poll(bot+`?.querySelector(".text")?.textContent === "" && `+bot+`.classList.contains("waiting")`),
		poll(`!document.getElementById("stop").disabled`),
	)
	h.Publish(webchat.Event{Type: "chunk", Turn: turn, Text: "A long time ago."})
	h.Publish(webchat.Event{Type: "end", Turn: turn})
	check := func(what string) {
		var text string
		var texts, bots int
		var dimmed bool
		step(t, ctx, what,
			poll(bot+`?.querySelector(".text")?.textContent === "A long time ago." && document.getElementById("stop").disabled`),
			chromedp.Evaluate(bot+`.textContent`, &text),
			chromedp.Evaluate(bot+`.querySelectorAll(".text").length`, &texts),
			chromedp.Evaluate(`document.querySelectorAll(".bot").length`, &bots),
			chromedp.Evaluate(`getComputedStyle(`+bot+`.querySelector(".lost")).color !== getComputedStyle(`+bot+`.querySelector(".text")).color`, &dimmed),
		)
		// The lost reasoning stays collapsed above the lost part.
		if want := "ReasoningHmm.Once up" + mark + "A long time ago."; text != want || texts != 1 || bots != 1 {
			t.Errorf("%s: the answer shows %q in %d .text of %d messages; want %q in one of one", what, text, texts, bots, want)
		}
		if !dimmed {
			t.Errorf("%s: the lost part is not dimmed", what)
		}
		if strings.Contains(text, "[interrupted]") {
			t.Errorf("%s: the answer is marked interrupted: %q", what, text)
		}
	}
	check("the new answer streams under the marker, in the same message")
	step(t, ctx, "reload", chromedp.Reload(),
		poll(`document.getElementById("status").textContent === "connected"`))
	check("after a reload the page shows the same")
}
