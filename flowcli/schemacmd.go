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

With --test it prints the schema of test files (*_test.yaml, see "flowrun
test"), the same as schema/flowtest.schema.json.

Examples:
   flowrun schema > flow.schema.json
   flowrun schema --test > flowtest.schema.json`,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "test", Usage: "print the schema of test files (*_test.yaml) instead", DisableDefaultText: true},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usagef(helpName(c), "takes no arguments")
			}
			var doc []byte
			if c.Bool("test") {
				doc = schema.CommittedTest()
			} else {
				reg, err := p.newRegistry()
				if err != nil {
					return err
				}
				if doc, err = schema.Generate(reg); err != nil {
					return err
				}
			}
			if len(doc) > 0 && doc[len(doc)-1] != '\n' {
				doc = append(doc, '\n')
			}
			_, err := p.stdout.Write(doc)
			return err
		},
	}
}
