package flowcli

import (
	ucli "github.com/urfave/cli/v2"

	"github.com/flowrun/flowrun/schema"
)

func (p *program) schemaCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "schema",
		Usage:     "print the JSON Schema of flow files",
		ArgsUsage: " ",
		Description: `Prints the JSON Schema of flow files, generated from the node types, so that
editors check and complete node types, inputs and constants. The copy in
schema/flow.schema.json is the same document; point yaml-language-server at
it with a first line such as:

   # yaml-language-server: $schema=../schema/flow.schema.json

Examples:
   flowrun schema > flow.schema.json`,
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usagef(helpName(c), "takes no arguments")
			}
			reg, err := p.newRegistry()
			if err != nil {
				return err
			}
			doc, err := schema.Generate(reg)
			if err != nil {
				return err
			}
			if len(doc) > 0 && doc[len(doc)-1] != '\n' {
				doc = append(doc, '\n')
			}
			_, err = p.stdout.Write(doc)
			return err
		},
	}
}
