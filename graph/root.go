package graph

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// An OutsideRootError is the error of a ReadFile made by [ReadFileWithin]
// for a path that resolves outside the root. Nothing of the file was read.
type OutsideRootError struct {
	// Path is the path as asked, Root the root, both absolute.
	Path, Root string
	// Link, when not empty, is where a symbolic link on Path leads.
	Link string
}

func (e *OutsideRootError) Error() string {
	if e.Link != "" {
		return fmt.Sprintf("%s leads, through a symbolic link, to %s, outside the root %s", e.Path, e.Link, e.Root)
	}
	return fmt.Sprintf("%s is outside the root %s", e.Path, e.Root)
}

// ReadFileWithin returns a function for [Options].ReadFile that reads only
// the files whose path, after symbolic links, is inside the directory
// root, so that a flow cannot read any *.yaml on the machine through a
// subflow path such as ../../x.yaml, /etc/x.yaml or a link that leads out.
// A path outside root is refused with an [*OutsideRootError] before the
// file is opened; a path that is outside even before symbolic links are
// resolved is refused without looking at the file system.
func ReadFileWithin(root string) (func(path string) ([]byte, error), error) {
	return ReadFileWithinLimit(root, 0)
}

// ReadFileWithinLimit is ReadFileWithin, reading files with [ReadFile] and
// its size limit (0: DefaultMaxFileSize).
func ReadFileWithinLimit(root string, limit int64) (func(path string) ([]byte, error), error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	return func(path string) ([]byte, error) {
		p, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		if !within(abs, p) && !within(real, p) {
			return nil, &OutsideRootError{Path: p, Root: real}
		}
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, err
		}
		if !within(real, resolved) {
			return nil, &OutsideRootError{Path: p, Root: real, Link: resolved}
		}
		return ReadFile(resolved, limit)
	}, nil
}

// within reports whether path is dir or below it; both are clean and
// absolute.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// DefaultRoot returns the root subflows of the flow in file are confined
// to when none is given: the current directory when file is inside it
// (a project run from its top directory, whose flows/x.yaml may use
// ../lib/y.yaml), otherwise the directory of file.
func DefaultRoot(file string) (string, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	if within(cwd, abs) {
		return cwd, nil
	}
	if rc, err := filepath.EvalSymlinks(cwd); err == nil {
		if ra, err := filepath.EvalSymlinks(abs); err == nil && within(rc, ra) {
			return cwd, nil
		}
	}
	return filepath.Dir(abs), nil
}
