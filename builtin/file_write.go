package builtin

import (
	"context"
	"os"

	"github.com/flowrun/flowrun/internal/atomicfile"
	"github.com/flowrun/flowrun/registry"
)

func fileWriteSpec() registry.Spec {
	return registry.Spec{
		Type:    "file.write",
		Effects: []registry.Effect{registry.Write},
		Doc: "Writes a value to a file, replacing it or appending to it.\n\n" +
			"A string is written as is, any other value as JSON; with newline a line end follows. " +
			"A relative path is relative to the directory of the flow file; the directory must exist. " +
			"The output is the path, so that a reader can run after the writer.\n\n" +
			"Replacing is atomic: the content goes to a temporary file next to the target (.<name>.<pid>-<random>" + atomicfile.TempSuffix + "), " +
			"which is synced to disk and renamed over the target, so a reader, a crash or a kill -9 sees the whole old " +
			"or the whole new content, never a cut file. The directory must therefore be writable. The file keeps its " +
			"permission bits (a new one gets 0666 less the umask) but becomes the writer's, and a hard link to it " +
			"keeps the old content; a symbolic link is followed. A cancelled run removes its temporary file and leaves " +
			"the target as it was; only a killed process can leave one behind, and the next completed write of the same " +
			"target removes those whose process is gone. A path that is not a regular file " +
			"(/dev/stdout, a named pipe) is written in place. Appending is not atomic: a kill can leave part of the " +
			"value appended.",
		Inputs: []registry.Input{
			{Name: "path", Type: registry.String, Doc: "The file's path, relative to the flow file's directory."},
			{Name: "content", Doc: "What to write: a string as is, another value as JSON."},
			{Name: "append", Type: registry.Boolean, Const: true, Default: false, HasDefault: true, Doc: "Append to the file instead of replacing it; appending is not atomic."},
			{Name: "newline", Type: registry.Boolean, Const: true, Default: false, HasDefault: true, Doc: "Write a line end after the content."},
		},
		Outputs: []registry.Output{{Name: "out", Type: registry.String, Doc: "The path, as given."}},
		Example: "log:\n  type: file.write\n  inputs: {content: event}\n  with: {path: events.jsonl, append: true, newline: true}\n",
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
	appendMode, err := cfg.Params.Bool("append")
	if err != nil {
		return nil, err
	}
	newline, err := cfg.Params.Bool("newline")
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
	if n.append {
		err = appendFile(resolvePath(n.dir, path), content)
	} else {
		err = atomicfile.WriteString(ctx, resolvePath(n.dir, path), content)
	}
	if err != nil {
		return fileError("write", path, err)
	}
	out.Set("out", path)
	return nil
}

// appendFile appends content to the file at path, creating it with mode
// 0666 less the umask. It is not atomic: a kill in the middle leaves part
// of content appended.
func appendFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
