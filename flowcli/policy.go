package flowcli

import (
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/registry"
)

// denyFlag and allowFlag return the --deny and --allow flags of run and
// validate.
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
