package flowcli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ignoreMarker, as the first line of a YAML file, keeps it out of the
// files that "flowrun validate" finds in directories and globs.
const ignoreMarker = "# flowrun: ignore"

// flowFiles expands the arguments of "flowrun validate" into flow files:
//
//   - a directory stands for every *.yaml and *.yml file below it,
//     recursively, skipping directories whose name starts with "." and
//     node_modules;
//   - an argument with *, ? or [ that is not an existing file is a glob,
//     expanded here so that it works quoted or not; "**" matches any number
//     of directories;
//   - any other argument is a file, checked whatever its name.
//
// Files found in directories and globs whose first line is
// "# flowrun: ignore", and test files (*_test.yaml, run by "flowrun
// test"), are skipped. The result is in argument order,
// sorted within each argument, without duplicates. An argument that
// yields no file is an error.
func flowFiles(args []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	var errs []error
	for _, arg := range args {
		info, statErr := os.Stat(arg)
		switch {
		case statErr == nil && info.IsDir():
			found, err := walkFlows(arg)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			found = withoutTests(found)
			if len(found) == 0 {
				errs = append(errs, fmt.Errorf("%s: no flow files (*.yaml, *.yml) in directory", arg))
			}
			for _, f := range found {
				add(f)
			}
		case statErr != nil && isGlob(arg):
			found, err := glob(arg)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			found = withoutTests(found)
			if len(found) == 0 {
				errs = append(errs, fmt.Errorf("%s: no flow files match", arg))
			}
			for _, f := range found {
				add(f)
			}
		default:
			// A missing or unreadable file is reported when it is read,
			// in order with the others.
			add(arg)
		}
	}
	return files, errors.Join(errs...)
}

// withoutTests drops the test files (*_test.yaml) from files.
func withoutTests(files []string) []string {
	out := files[:0]
	for _, f := range files {
		if !isTestFile(f) {
			out = append(out, f)
		}
	}
	return out
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

func isYAML(name string) bool {
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}

// walkFlows returns the flow files below dir, sorted.
func walkFlows(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !isYAML(p) {
			return nil
		}
		ignored, err := hasIgnoreMarker(p)
		if err != nil {
			return err
		}
		if !ignored {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "node_modules"
}

// glob expands pattern, where "**" as a whole path element matches zero
// or more directories. Only YAML files are kept, minus ignored ones.
func glob(pattern string) ([]string, error) {
	pattern = filepath.ToSlash(pattern)
	var matches []string
	if !strings.Contains(pattern, "**") {
		var err error
		if matches, err = filepath.Glob(filepath.FromSlash(pattern)); err != nil {
			return nil, fmt.Errorf("%s: %w", pattern, err)
		}
	} else {
		// Walk from the longest directory prefix without wildcards.
		elems := strings.Split(pattern, "/")
		i := 0
		for i < len(elems)-1 && !isGlob(elems[i]) {
			i++
		}
		root := strings.Join(elems[:i], "/")
		if root == "" && strings.HasPrefix(pattern, "/") {
			root = "/"
		} else if root == "" {
			root = "."
		}
		rest := elems[i:]
		err := filepath.WalkDir(filepath.FromSlash(root), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != filepath.FromSlash(root) && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			rel, err := filepath.Rel(filepath.FromSlash(root), p)
			if err != nil {
				return err
			}
			ok, err := matchElems(rest, strings.Split(filepath.ToSlash(rel), "/"))
			if err != nil {
				return fmt.Errorf("%s: %w", pattern, err)
			}
			if ok {
				matches = append(matches, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var files []string
	for _, m := range matches {
		if info, err := os.Stat(m); err != nil || info.IsDir() || !isYAML(m) {
			continue
		}
		ignored, err := hasIgnoreMarker(m)
		if err != nil {
			return nil, err
		}
		if !ignored {
			files = append(files, m)
		}
	}
	slices.Sort(files)
	return files, nil
}

// matchElems matches path elements against pattern elements, where "**"
// matches any number of elements.
func matchElems(pattern, name []string) (bool, error) {
	if len(pattern) == 0 {
		return len(name) == 0, nil
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if ok, err := matchElems(pattern[1:], name[i:]); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	if len(name) == 0 {
		return false, nil
	}
	ok, err := path.Match(pattern[0], name[0])
	if !ok || err != nil {
		return false, err
	}
	return matchElems(pattern[1:], name[1:])
}

// hasIgnoreMarker reports whether the file's first line is the ignore
// marker.
func hasIgnoreMarker(file string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadSlice('\n')
	if err != nil && len(line) == 0 {
		return false, nil // empty file
	}
	return string(bytes.TrimSpace(line)) == ignoreMarker, nil
}
