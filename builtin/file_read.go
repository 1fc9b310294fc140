package builtin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowrun/flowrun/registry"
)

func fileReadSpec() registry.Spec {
	return registry.Spec{
		Type:    "file.read",
		Effects: []registry.Effect{registry.Read},
		Doc: "Reads a file.\n\n" +
			"A relative path is relative to the directory of the flow file. With format text (the default) the " +
			"output is the file's content as a string; with json, the parsed JSON value; with lines, the list of " +
			"its lines without line ends. A missing or unreadable file is an error naming the path.",
		Inputs: []registry.Input{
			{Name: "path", Type: registry.String, Doc: "The file's path, relative to the flow file's directory."},
			{Name: "format", Type: registry.String, Const: true, Default: "text", HasDefault: true, Enum: []any{"text", "json", "lines"},
				Doc: "How to read the content: text, json or lines."},
		},
		Outputs: []registry.Output{{Name: "out", Doc: "The content."}},
		Example: "config:\n  type: file.read\n  with: {path: config.json, format: json}\n",
		New: func(cfg registry.Config, env registry.Env) (registry.Node, error) {
			format, err := cfg.Params.OneOf("format", "text", "json", "lines")
			if err != nil {
				return nil, err
			}
			return &fileReadNode{dir: cfg.Dir, format: format}, nil
		},
	}
}

// fileReadNode reads a file.
type fileReadNode struct {
	dir    string
	format string
}

var _ registry.Node = (*fileReadNode)(nil)

func (n *fileReadNode) Run(ctx context.Context, in registry.Inputs, out registry.Outputs) error {
	path, err := wantString("path", in.Value("path"))
	if err != nil {
		return err
	}
	data, err := os.ReadFile(resolvePath(n.dir, path))
	if err != nil {
		return fileError("read", path, err)
	}
	switch n.format {
	case "json":
		v, err := decodeJSON(data)
		if err != nil {
			return fmt.Errorf("file %q: %w", path, err)
		}
		out.Set("out", v)
	case "lines":
		lines := []any{}
		for line := range strings.Lines(string(data)) {
			lines = append(lines, strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
		}
		out.Set("out", lines)
	default:
		out.Set("out", string(data))
	}
	return nil
}

// resolvePath makes a relative path relative to dir.
func resolvePath(dir, path string) string {
	if filepath.IsAbs(path) || dir == "" {
		return path
	}
	return filepath.Join(dir, path)
}

// fileError describes a failed file operation on the path as the user
// wrote it.
func fileError(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot %s file %q: %w", op, path, err)
}
