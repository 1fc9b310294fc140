package builtin

import (
	"context"
	"os"

	"github.com/flowrun/flowrun/registry"
)

func fileWriteSpec() registry.Spec {
	return registry.Spec{
		Type: "file.write",
		Doc: "Writes a value to a file, replacing it or appending to it.\n\n" +
			"A string is written as is, any other value as JSON; with newline a line end follows. " +
			"A relative path is relative to the directory of the flow file; the directory must exist. " +
			"The output is the path, so that a reader can run after the writer.",
		Inputs: []registry.Input{
			{Name: "path", Type: registry.String, Doc: "The file's path, relative to the flow file's directory."},
			{Name: "content", Doc: "What to write: a string as is, another value as JSON."},
			{Name: "append", Type: registry.Boolean, Const: true, Default: false, HasDefault: true, Doc: "Append to the file instead of replacing it."},
			{Name: "newline", Type: registry.Boolean, Const: true, Default: false, HasDefault: true, Doc: "Write a line end after the content."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "The path, as given."}},
		Example: "log:\n  type: file.write\n  inputs: {content: event}\n  with: {path: events.jsonl, append: true, newline: true}\n",
		Check: func(cfg registry.Config) error {
			_, err := newFileWriteNode(cfg)
			return err
		},
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			n, err := newFileWriteNode(cfg)
			if err != nil {
				return nil, err
			}
			return n, nil
		},
	}
}

func newFileWriteNode(cfg registry.Config) (*fileWriteNode, error) {
	appendMode, err := boolParam(cfg, "append")
	if err != nil {
		return nil, err
	}
	newline, err := boolParam(cfg, "newline")
	if err != nil {
		return nil, err
	}
	return &fileWriteNode{dir: cfg.Dir, append: appendMode, newline: newline}, nil
}

// fileWriteNode writes a file.
type fileWriteNode struct {
	dir     string
	append  bool
	newline bool
}

var _ registry.Node = (*fileWriteNode)(nil)

func (n *fileWriteNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	path, err := wantString("path", in.Value("path"))
	if err != nil {
		return err
	}
	content := text(in.Value("content"))
	if n.newline {
		content += "\n"
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if n.append {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(resolvePath(n.dir, path), flags, 0o644)
	if err != nil {
		return fileError("write", path, err)
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fileError("write", path, err)
	}
	out.Set("out", path)
	return nil
}
