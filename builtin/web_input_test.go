package builtin

import (
	"context"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/nodetest"
	"github.com/flowrun/flowrun/registry"
)

// The web types are tested end to end, with their server and page, by
// internal/webchat and tests/web_test.go; here, their parameters and how
// two nodes share one server.

func TestWebParams(t *testing.T) {
	for _, typ := range []string{"web.input", "web.output"} {
		spec := lookup(t, typ)
		cfg, err := nodetest.Config(spec, nodetest.Setup{Params: map[string]any{"listen": "8765"}})
		if err != nil {
			t.Fatal(err)
		}
		wantParamError(t, spec.CheckParams(cfg), "listen", "host:port")

		// Not loopback: the check passes (the token comes from the
		// environment of the run), creating the node without it fails.
		env := registry.Env{Getenv: func(string) string { return "" }, Shared: registry.NewShared()}
		cfg, _ = nodetest.Config(spec, nodetest.Setup{Params: map[string]any{"listen": "0.0.0.0:8765"}})
		if err := spec.CheckParams(cfg); err != nil {
			t.Errorf("%s: check of listen 0.0.0.0:8765: %v", typ, err)
		}
		_, err = spec.New(cfg, env)
		wantParamError(t, err, "listen", "FLOWRUN_WEB_TOKEN")
		env.Shared = registry.NewShared() // another run
		env.Getenv = func(k string) string {
			if k == "FLOWRUN_WEB_TOKEN" {
				return "s3cret"
			}
			return ""
		}
		if n, err := spec.New(cfg, env); err != nil {
			t.Errorf("%s with a token: %v", typ, err)
		} else {
			n.(registry.Closer).Close(context.Background())
		}
	}
}

func TestWebNodesShareOneServerPerAddress(t *testing.T) {
	shared := registry.NewShared()
	env := registry.Env{Shared: shared, Stderr: &syncBuffer{}}
	in, err := lookup(t, "web.input").New(mustConfig(t, "web.input", "127.0.0.1:0", ""), env)
	if err != nil {
		t.Fatal(err)
	}
	out, err := lookup(t, "web.output").New(mustConfig(t, "web.output", "127.0.0.1:0", ""), env)
	if err != nil {
		t.Fatal(err)
	}
	if in.(*webInputNode).hub != out.(*webOutputNode).hub {
		t.Error("web.input and web.output on one address have two hubs")
	}
	other, err := lookup(t, "web.output").New(mustConfig(t, "web.output", "127.0.0.2:0", ""), env)
	if err != nil {
		t.Fatal(err)
	}
	if other.(*webOutputNode).hub == in.(*webInputNode).hub {
		t.Error("two addresses share a hub")
	}
	_, err = lookup(t, "web.output").New(mustConfig(t, "web.output", "127.0.0.1:0", "OTHER_TOKEN"), env)
	wantParamError(t, err, "token_env", "same token_env")
	// A hub of another run of the flow is another.
	again, err := lookup(t, "web.input").New(mustConfig(t, "web.input", "127.0.0.1:0", ""), registry.Env{Shared: registry.NewShared()})
	if err != nil {
		t.Fatal(err)
	}
	if again.(*webInputNode).hub == in.(*webInputNode).hub {
		t.Error("two runs share a hub")
	}
	// The server listens from the first run until the last node closes.
	h := in.(*webInputNode).hub
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(env.Stderr.(*syncBuffer).String(), "chat page at http://"+h.Addr()+"/") {
		t.Errorf("stderr %q does not give the page's address", env.Stderr.(*syncBuffer).String())
	}
	for _, n := range []registry.Node{in, out, other, again} {
		if err := n.(registry.Closer).Close(context.Background()); err != nil {
			t.Error(err)
		}
	}
	if err := h.Start(); err == nil {
		t.Error("the hub can start again after its last node closed")
	}
}

func mustConfig(t *testing.T, typ, listen, tokenEnv string) registry.Config {
	t.Helper()
	p := map[string]any{"listen": listen}
	if tokenEnv != "" {
		p["token_env"] = tokenEnv
	}
	cfg, err := nodetest.Config(lookup(t, typ), nodetest.Setup{Params: p})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
