package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/provision/image"
)

func newImagesCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build, list, save and load the lab images (for offline rooms)",
		Long: `The lab images are PostgreSQL (postgres:17) and lab's Backstage image, built from a context embedded in
lab FROM node:22-bookworm-slim. On a normal machine Docker pulls the base images. Without a registry
(an air-gapped workshop room, CI), either load a bundle an instructor saved, or make local stand-ins
for the base images from Debian and npm packages with "lab images offline".`,
		Example: `  lab images build
  lab images save lab-images.tar      # instructor: carry this file to the room
  lab images load lab-images.tar      # learner: no network needed
  sudo lab images offline             # no registry: stand-ins from Debian + npm packages`,
	}
	cmd.AddCommand(newImagesBuildCmd(f), newImagesListCmd(f), newImagesSaveCmd(f), newImagesLoadCmd(f), newImagesOfflineCmd(f))
	return cmd
}

func newImagesBuildCmd(f *cli.Factory) *cobra.Command {
	var rebuild, noCache bool
	var ca, only string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the Backstage image (and pull PostgreSQL) if missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if only != "" && only != "backstage" && only != "postgres" {
				return cli.FlagErrorf("--only must be backstage or postgres, not %q", only)
			}
			ctx := cmd.Context()
			eng, err := f.Engine(ctx)
			if err != nil {
				return err
			}
			rep, err := f.Reporter()
			if err != nil {
				return err
			}
			bundle, err := caBundle(f, ca)
			if err != nil {
				return err
			}
			start := time.Now()
			if only != "backstage" {
				if err := provision.EnsurePostgresImage(ctx, eng, rep); err != nil {
					return err
				}
				fmt.Fprintln(f.IO.Out, provision.PostgresImage)
			}
			if only != "postgres" {
				ref, err := provision.EnsureBackstageImage(ctx, eng, provision.ImageOptions{Context: image.Backstage(), CABundle: bundle, Reporter: rep, Rebuild: rebuild || noCache, NoCache: noCache})
				if err != nil {
					return err
				}
				fmt.Fprintln(f.IO.Out, ref)
			}
			fmt.Fprintf(f.IO.ErrOut, "Images ready in %.1fs.\n", time.Since(start).Seconds())
			return nil
		},
	}
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "build even if the image exists")
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "rebuild without the build cache (a cold build)")
	cmd.Flags().StringVar(&only, "only", "", "only this image: backstage or postgres")
	cmd.Flags().StringVar(&ca, "ca-bundle", "", "PEM CA bundle for npm behind a TLS-inspecting proxy (also $LAB_CA_BUNDLE)")
	return cmd
}

func newImagesListCmd(f *cli.Factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the images a lab needs and whether they are here",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, err := f.Engine(ctx)
			if err != nil {
				return err
			}
			refs, err := provision.ImageRefs(image.Backstage())
			if err != nil {
				return err
			}
			refs = append(refs, provision.NodeBaseImage)
			type row struct {
				Image   string `json:"image"`
				Present bool   `json:"present"`
				Role    string `json:"role"`
			}
			roles := []string{"database", "backstage", "build base"}
			var rows []row
			for i, r := range refs {
				ok, err := eng.ImageExists(ctx, r)
				if err != nil {
					return err
				}
				rows = append(rows, row{Image: r, Present: ok, Role: roles[i]})
			}
			if asJSON {
				return writeJSON(f, rows)
			}
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "IMAGE\tROLE\tPRESENT")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%v\n", r.Image, r.Role, r.Present)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newImagesSaveCmd(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "save FILE",
		Short:   "Save the images a lab needs into one tarball (for rooms without network)",
		Example: "  lab images save lab-images.tar",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, err := f.Engine(ctx)
			if err != nil {
				return err
			}
			refs, err := provision.ImageRefs(image.Backstage())
			if err != nil {
				return err
			}
			for _, r := range refs {
				if ok, err := eng.ImageExists(ctx, r); err != nil || !ok {
					return fmt.Errorf("image %s is not here: run `lab images build` first", r)
				}
			}
			tmp := args[0] + ".partial"
			out, err := os.Create(tmp)
			if err != nil {
				return fmt.Errorf("save images: %w", err)
			}
			w := bufio.NewWriterSize(out, 1<<20)
			err = eng.SaveImages(ctx, refs, w)
			if err == nil {
				err = w.Flush()
			}
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				_ = os.Remove(tmp)
				return err
			}
			if err := os.Rename(tmp, args[0]); err != nil {
				return fmt.Errorf("save images: %w", err)
			}
			st, _ := os.Stat(args[0])
			fmt.Fprintf(f.IO.Out, "Saved %s (%d MB): %s\n", args[0], st.Size()>>20, strings.Join(refs, ", "))
			return nil
		},
	}
}

func newImagesLoadCmd(f *cli.Factory) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "load FILE | --from URL",
		Short: "Load images from a tarball made by `lab images save`, or from the workshop server",
		Long: `Loads the lab images from a tarball made by "lab images save", or with --from from the instructor's
workshop server (lab workshop serve --images FILE): the download shows its progress, resumes where it
stopped if interrupted, and is verified against the SHA-256 the server advertises before loading.`,
		Example: "  lab images load lab-images.tar\n  lab images load --from http://10.0.0.5:7420/j/K7M2QX",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || (from == "") == (len(args) == 0) {
				return cli.FlagErrorf("give either a FILE or --from URL")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, err := f.Engine(ctx)
			if err != nil {
				return err
			}
			if from != "" {
				return loadImagesFrom(ctx, f, eng, from)
			}
			in, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("load images: %w", err)
			}
			defer in.Close()
			if err := eng.LoadImages(ctx, bufio.NewReaderSize(in, 1<<20)); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Loaded %s.\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "download the bundle from the workshop server at this join URL (http://HOST:PORT/j/CODE)")
	return cmd
}

func newImagesOfflineCmd(f *cli.Factory) *cobra.Command {
	var force bool
	var only string
	cmd := &cobra.Command{
		Use:   "offline",
		Short: "Make local stand-ins for node:22-bookworm-slim and postgres:17 without a registry",
		Long: `Builds images named like the official base images from Debian packages (debootstrap + docker import)
and the npm package that ships the official Node.js binary. For machines that reach Debian's and npm's
package repositories but no container registry. Needs root, debootstrap, docker and npm on the host;
it uses the host's apt mirror and npm configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if only != "" && only != "node" && only != "postgres" {
				return cli.FlagErrorf("--only must be node or postgres, not %q", only)
			}
			return offlineRun(cmd.Context(), f, force, only)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "rebuild stand-ins that already exist")
	cmd.Flags().StringVar(&only, "only", "", "only this stand-in: node or postgres")
	return cmd
}

func offlineRun(ctx context.Context, f *cli.Factory, force bool, only string) error {
	dir, err := os.MkdirTemp("", "lab-offline-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "make-standins.sh")
	if err := os.WriteFile(script, image.StandinsScript(), 0o755); err != nil {
		return err
	}
	argv := []string{script}
	if force {
		argv = append(argv, "--force")
	}
	if only != "" {
		argv = append(argv, "--only", only)
	}
	c := exec.CommandContext(ctx, "bash", argv...)
	c.Stdout, c.Stderr = f.IO.ErrOut, f.IO.ErrOut
	if err := c.Run(); err != nil {
		return fmt.Errorf("make offline stand-ins: %w", err)
	}
	return nil
}
