package provision

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"
)

// Official base images the Dockerfiles build FROM. Where no registry is reachable, `lab images offline`
// makes local stand-ins under these names.
const (
	NodeBaseImage = "node:22-bookworm-slim"
	PostgresImage = "postgres:17"
	backstageRepo = "backstage-lab/backstage"
)

// ImageOptions say how to build lab's images.
type ImageOptions struct {
	// Context is the Backstage image's build context (Dockerfile at its root).
	Context fs.FS
	// CABundle, when set, is a PEM bundle the build trusts for npm (networks that inspect TLS). It is used
	// only in the build stage that runs npm and is not part of the final image.
	CABundle []byte
	Reporter Reporter
	// Rebuild builds even when the image exists; NoCache also ignores the build cache.
	Rebuild bool
	NoCache bool
}

// BackstageImageRef names the Backstage image for a build context: the tag is a hash of the context, so a
// changed context builds a new image and an unchanged one is reused.
func BackstageImageRef(buildContext fs.FS) (string, error) {
	h := sha256.New()
	err := walkFiles(buildContext, func(name string, data []byte) error {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash image context: %w", err)
	}
	return backstageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// EnsureImages makes sure the PostgreSQL image and the Backstage image exist, pulling or building them
// as needed, and returns the Backstage image's reference.
func EnsureImages(ctx context.Context, eng Engine, o ImageOptions) (string, error) {
	if err := EnsurePostgresImage(ctx, eng, o.Reporter); err != nil {
		return "", err
	}
	return EnsureBackstageImage(ctx, eng, o)
}

// EnsurePostgresImage pulls the PostgreSQL image when it is not here.
func EnsurePostgresImage(ctx context.Context, eng Engine, r Reporter) error {
	if r == nil {
		r = Discard
	}
	return ensurePulled(ctx, eng, PostgresImage, r)
}

// EnsureBackstageImage builds the Backstage image when it is not here (or always, with o.Rebuild) and
// returns its reference.
func EnsureBackstageImage(ctx context.Context, eng Engine, o ImageOptions) (string, error) {
	if o.Reporter == nil {
		o.Reporter = Discard
	}
	ref, err := BackstageImageRef(o.Context)
	if err != nil {
		return "", err
	}
	if !o.Rebuild {
		ok, err := eng.ImageExists(ctx, ref)
		if err != nil {
			return "", err
		}
		if ok {
			return ref, nil
		}
	}
	if err := ensurePulled(ctx, eng, NodeBaseImage, o.Reporter); err != nil {
		return "", err
	}
	return ref, buildBackstage(ctx, eng, ref, o)
}

func ensurePulled(ctx context.Context, eng Engine, ref string, r Reporter) error {
	ok, err := eng.ImageExists(ctx, ref)
	if err != nil || ok {
		return err
	}
	done := step(r, "pull", "Pulling "+ref)
	err = eng.PullImage(ctx, ref, func(line string) {
		r.Event(Event{Step: "pull", Status: StatusProgress, Text: line})
	})
	done(err)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("image %s is not here and could not be pulled: %w\n"+
			"Without a registry, make local stand-ins with `lab images offline` (needs root, debootstrap and npm), "+
			"or load a bundle with `lab images load FILE`", ref, err)
	}
	return err
}

// BuildError is an image build that failed; Output holds the last lines the build printed.
type BuildError struct {
	Err    error
	Output []string
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("image build failed: %v\nlast build output:\n  %s", e.Err, strings.Join(e.Output, "\n  "))
}

func (e *BuildError) Unwrap() error { return e.Err }

func buildBackstage(ctx context.Context, eng Engine, ref string, o ImageOptions) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContextTar(pw, o.Context, o.CABundle)) }()
	done := step(o.Reporter, "build", "Building "+ref+" (a few minutes the first time)")
	var tail []string
	start := time.Now()
	err := eng.BuildImage(ctx, pr, ref, map[string]string{LabelManaged: "true", LabelVersion: Version}, o.NoCache, func(line string) {
		tail = append(tail, line)
		if len(tail) > 30 {
			tail = tail[1:]
		}
		if strings.HasPrefix(line, "Step ") {
			o.Reporter.Event(Event{Step: "build", Status: StatusProgress, Text: line, Elapsed: time.Since(start)})
		}
	})
	_ = pr.Close()
	if err != nil && ctx.Err() == nil {
		err = &BuildError{Err: err, Output: tail}
	}
	done(err)
	return err
}

// writeContextTar writes the build context as a tar stream, adding ca-certificates.crt (empty when no
// bundle is given: the Dockerfile always copies it and uses it only when it is not empty).
func writeContextTar(w io.Writer, buildContext fs.FS, caBundle []byte) error {
	tw := tar.NewWriter(w)
	add := func(name string, data []byte, mode int64) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	err := walkFiles(buildContext, func(name string, data []byte) error {
		mode := int64(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		return add(name, data, mode)
	})
	if err != nil {
		return err
	}
	if err := add("ca-certificates.crt", caBundle, 0o644); err != nil {
		return err
	}
	return tw.Close()
}

// walkFiles calls f for every regular file of fsys in a stable order.
func walkFiles(fsys fs.FS, f func(name string, data []byte) error) error {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() != "ca-certificates.crt" {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return err
		}
		if err := f(n, data); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoImages means there is nothing to save.
var ErrNoImages = errors.New("no lab images found")

// ImageRefs returns the images a session needs: PostgreSQL and the Backstage image for the context.
func ImageRefs(buildContext fs.FS) ([]string, error) {
	ref, err := BackstageImageRef(buildContext)
	if err != nil {
		return nil, err
	}
	return []string{PostgresImage, ref}, nil
}
