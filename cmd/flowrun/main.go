// Command flowrun runs declarative dataflow graphs written in YAML.
//
// Run "flowrun --help" for the commands; the README describes the flow file
// format and the exit codes.
package main

import (
	"context"
	"os"

	"github.com/flowrun/flowrun/flowcli"
)

func main() {
	os.Exit(flowcli.Main(context.Background(), os.Args, nil, os.Stdin, os.Stdout, os.Stderr))
}
