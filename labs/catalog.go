package labs

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed all:*
var builtin embed.FS

// ErrUnknownLab is returned by Catalog.Get for a slug no lab has.
var ErrUnknownLab = errors.New("unknown lab")

// Catalog is the set of labs available to this build.
type Catalog struct {
	Labs []*Lab
}

// Builtin returns the labs embedded in the binary.
func Builtin() (*Catalog, error) {
	return Load(builtin, "labs")
}

// FromDir loads labs from a directory on disk (for authors: --labs-dir), laid out like labs/.
func FromDir(dir string) (*Catalog, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("labs dir: %w", err)
	}
	return Load(os.DirFS(dir), dir)
}

// Load reads every <slug>/lab.yaml under root. It reports the problems of every invalid lab together.
func Load(root fs.FS, name string) (*Catalog, error) {
	entries, err := fs.ReadDir(root, ".")
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	c := &Catalog{}
	var invalid []Problem
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "testdata" {
			continue
		}
		file := path.Join(e.Name(), "lab.yaml")
		data, err := fs.ReadFile(root, file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		dir, err := fs.Sub(root, e.Name())
		if err != nil {
			return nil, err
		}
		lab, err := Parse(data, path.Join(name, file), dir)
		var ie *InvalidError
		if errors.As(err, &ie) {
			invalid = append(invalid, ie.Problems...)
			continue
		}
		if err != nil {
			return nil, err
		}
		if lab.Slug != e.Name() {
			invalid = append(invalid, Problem{File: lab.Source, Line: 1, Message: fmt.Sprintf("slug %q must match its directory %q", lab.Slug, e.Name())})
			continue
		}
		c.Labs = append(c.Labs, lab)
	}
	if len(invalid) > 0 {
		return nil, &InvalidError{Problems: invalid}
	}
	sort.Slice(c.Labs, func(i, j int) bool {
		a, b := c.Labs[i], c.Labs[j]
		if a.Domain != b.Domain {
			return a.Domain < b.Domain
		}
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Slug < b.Slug
	})
	return c, nil
}

// Get returns the lab with the given slug.
func (c *Catalog) Get(slug string) (*Lab, error) {
	for _, l := range c.Labs {
		if l.Slug == slug {
			return l, nil
		}
	}
	names := make([]string, len(c.Labs))
	for i, l := range c.Labs {
		names[i] = l.Slug
	}
	return nil, fmt.Errorf("%w %q; available: %s (see: lab list)", ErrUnknownLab, slug, strings.Join(names, ", "))
}
