package builtin

import (
	"fmt"
	"io"
	"net"

	"github.com/flowrun/flowrun/internal/webchat"
	"github.com/flowrun/flowrun/registry"
)

// webDefaultAddr is where web.input and web.output listen by default.
const webDefaultAddr = "127.0.0.1:8765"

// webParams are the inputs both web types declare.
func webParams() []registry.Input {
	return []registry.Input{
		{Name: "listen", Type: registry.String, Const: true, HasDefault: true, Default: webDefaultAddr,
			Doc: "The address the page is served on, host:port. The web.input and web.output nodes of a flow that name the same address share one server and one page; a port of 0 picks a free one."},
		{Name: "token_env", Type: registry.String, Const: true, HasDefault: true, Default: webchat.TokenEnv,
			Doc: "The environment variable holding the token that every request must carry; required (not empty) when listen is not a loopback address."},
	}
}

// webDoc is the part of the web types' documentation they share.
const webDoc = "The web.input and web.output nodes of a flow whose listen parameters name the same address share one HTTP " +
	"server and one conversation (one object per run of the flow, released when the flow ends); the first node to " +
	"run starts listening and writes the page's address on stderr. The page (served from the binary, no outside " +
	"network) streams the conversation with Server-Sent Events; a reloaded page or a second tab shows the whole " +
	"conversation and continues live. Requests are refused unless their Host names the loopback address listened " +
	"on (DNS rebinding) and their Origin, when sent, is the page's own (cross-site requests); listening on any " +
	"other address than loopback requires a token ($FLOWRUN_WEB_TOKEN, see token_env), given once as ?token= on " +
	"the page's address. See docs/web.md."

// webHub returns the hub of the node's listen address, shared with the
// other web nodes of the flow through env.Shared, and counts the node as
// one of its users (release it in Close).
func webHub(cfg registry.Config, env registry.Env) (*webchat.Hub, error) {
	addr, err := cfg.Params.String("listen")
	if err != nil {
		return nil, err
	}
	tokenEnv, err := cfg.Params.String("token_env")
	if err != nil {
		return nil, err
	}
	token := ""
	if env.Getenv != nil && tokenEnv != "" {
		token = env.Getenv(tokenEnv)
	}
	newHub := func() (*webchat.Hub, error) {
		notice := env.Stderr
		if notice == nil {
			notice = io.Discard
		}
		return webchat.New(webchat.Config{Addr: addr, Token: token, Interrupt: env.Interrupt, Notice: notice})
	}
	if env.Shared == nil { // outside the engine (checking parameters): not shared
		h, err := newHub()
		if err != nil {
			return nil, &registry.ParamError{Param: "listen", Err: err}
		}
		h.Acquire()
		return h, nil
	}
	type entry struct {
		hub      *webchat.Hub
		err      error
		tokenEnv string
	}
	e := env.Shared.Get("webchat:"+addr, func() any {
		h, err := newHub()
		return &entry{hub: h, err: err, tokenEnv: tokenEnv}
	}).(*entry)
	switch {
	case e.err != nil:
		return nil, &registry.ParamError{Param: "listen", Err: e.err}
	case e.tokenEnv != tokenEnv:
		return nil, &registry.ParamError{Param: "token_env", Err: fmt.Errorf("%q differs from the %q of another web node listening on %s: the nodes of one address share one server, give them the same token_env", tokenEnv, e.tokenEnv, addr)}
	}
	e.hub.Acquire()
	return e.hub, nil
}

// webCheck checks the parameters at load time; the token, read from the
// environment, is checked when the node is created for a run.
func webCheck(cfg registry.Config) error {
	addr, err := cfg.Params.String("listen")
	if err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return &registry.ParamError{Param: "listen", Err: fmt.Errorf("%q: %w (write host:port, such as %s)", addr, err, webDefaultAddr)}
	}
	_, err = cfg.Params.String("token_env")
	return err
}
