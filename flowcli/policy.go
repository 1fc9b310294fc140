package flowcli

import (
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/graph"
	"github.com/flowrun/flowrun/registry"
)

// denyFlag and allowFlag return the --deny and --allow flags of run,
// validate, test and the cluster worker.
func denyFlag() ucli.Flag {
	return &ucli.StringSliceFlag{Name: "deny", Usage: "refuse the node types with any of these effects: `LIST` of exec, read, write, net, terminal, comma-separated (repeatable); exec is refused whatever is denied"}
}

func allowFlag() ucli.Flag {
	return &ucli.StringSliceFlag{Name: "allow", Usage: "allow only the node types whose effects are all in `LIST` (comma-separated, repeatable; \"none\": only types without effects)"}
}

// parsePolicy reads --deny and --allow into p.policy.
func (p *program) parsePolicy(c *ucli.Context, cmd string) error {
	deny, err := parseEffectFlags(c.StringSlice("deny"))
	if err != nil {
		return usagef(cmd, "--deny: %v", err)
	}
	p.policy.Deny = deny
	if c.IsSet("allow") {
		allow, err := parseEffectFlags(c.StringSlice("allow"))
		if err != nil {
			return usagef(cmd, "--allow: %v", err)
		}
		if allow == nil {
			allow = []registry.Effect{}
		}
		p.policy.Allow = allow
	}
	return nil
}

func parseEffectFlags(values []string) ([]registry.Effect, error) {
	var out []registry.Effect
	for _, v := range values {
		if strings.TrimSpace(v) == "none" {
			continue
		}
		es, err := registry.ParseEffects(v)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// rootFlag returns the --root flag of run, validate and graph.
func rootFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "root", Usage: "read subflows only inside `DIR` (default: the current directory when the flow is in it, else the flow's directory)"}
}

// subflowReader returns the ReadFile of graph.Options for the flow in
// file: it reads only files inside the root (--root, or
// graph.DefaultRoot) and puts what it read in srcs, so that diagnostics
// show snippets of those files and of no other.
func (p *program) subflowReader(cmd, file string, srcs sources) (func(string) ([]byte, error), error) {
	root := p.root
	if root == "" {
		var err error
		if root, err = graph.DefaultRoot(file); err != nil {
			return nil, err
		}
	}
	read, err := graph.ReadFileWithinLimit(root, p.maxFileSize)
	if err != nil {
		if p.root != "" {
			return nil, usagef(cmd, "--root %s: %v", p.root, err)
		}
		return nil, err
	}
	return func(path string) ([]byte, error) {
		src, err := read(path)
		if err == nil {
			srcs.put(path, src)
		}
		return src, err
	}, nil
}
