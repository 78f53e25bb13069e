package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/provision"
)

type openOptions struct {
	Lab   string
	Path  string
	Print bool
	// Browser opens a URL in the user's browser; it fails when there is none to open.
	Browser func(ctx context.Context, url string) error
}

func newOpenCmd(f *cli.Factory) *cobra.Command {
	o := &openOptions{}
	cmd := &cobra.Command{
		Use:   "open [path | entity-ref]",
		Short: "Open the lab's Backstage UI in your browser",
		Long: `Open the running lab's Backstage UI (served on 127.0.0.1 with the API, signed in as the lab's
guest user) in your browser, at its catalog or at a given page. An entity ref opens that entity's page.
Without a browser (no display, or --print) the URL is printed instead.`,
		Example: `  lab open
  lab open component:default/payments-api      # the entity's page
  lab open /catalog-graph
  lab open --print                              # just print the URL`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Path = args[0]
			}
			if o.Browser == nil {
				o.Browser = func(ctx context.Context, u string) error { return openBrowser(ctx, f.Getenv, u) }
			}
			return openRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Lab, "lab", "", "the lab (default: the running one)")
	cmd.Flags().BoolVar(&o.Print, "print", false, "print the URL instead of opening a browser")
	return cmd
}

func openRun(ctx context.Context, f *cli.Factory, o *openOptions) error {
	page, err := uiPath(o.Path)
	if err != nil {
		return cli.FlagErrorf("%v", err)
	}
	eng, err := f.Engine(ctx)
	if err != nil {
		return err
	}
	s, err := resolveSession(ctx, f, eng, o.Lab)
	if err != nil {
		return err
	}
	if s.Backstage == nil || !s.Backstage.Running {
		return fmt.Errorf("lab %s is not running: start it with `lab start %s`", s.Lab, s.Lab)
	}
	u := s.URL() + page
	if o.Print {
		fmt.Fprintln(f.IO.Out, u)
		return nil
	}
	if err := o.Browser(ctx, u); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "Could not open a browser (%v); open this URL yourself:\n", err)
		fmt.Fprintln(f.IO.Out, u)
		return nil
	}
	fmt.Fprintf(f.IO.ErrOut, "Opening %s in your browser.\n", u)
	return nil
}

// uiPath turns the argument of `lab open` into a path of the UI: "" → /catalog, an entity ref →
// its entity page, anything else → a path (a leading slash is added).
func uiPath(arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	switch {
	case arg == "":
		return "/catalog", nil
	case strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://"):
		return "", fmt.Errorf("give a path of the lab's UI (e.g. /catalog) or an entity ref, not a URL: %s", arg)
	case !strings.HasPrefix(arg, "/") && strings.Contains(arg, ":"):
		kind, ns, name, err := backstage.ParseRef(arg)
		if err != nil {
			return "", fmt.Errorf("not an entity ref (kind:namespace/name): %s", arg)
		}
		return "/catalog/" + url.PathEscape(ns) + "/" + url.PathEscape(strings.ToLower(kind)) + "/" + url.PathEscape(name), nil
	case strings.HasPrefix(arg, "/"):
		return arg, nil
	default:
		return "/" + arg, nil
	}
}

// errNoBrowser means there is no browser to open on this machine.
var errNoBrowser = errors.New("no browser found")

// openBrowser opens u with $BROWSER, else the platform's opener (xdg-open, open, rundll32). On Linux
// without a display there is nothing to open a browser on.
func openBrowser(ctx context.Context, getenv func(string) string, u string) error {
	var name string
	var args []string
	switch b := getenv("BROWSER"); {
	case b != "":
		name = b
	case runtime.GOOS == "darwin":
		name = "open"
	case runtime.GOOS == "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler"}
	default:
		if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
			return fmt.Errorf("%w: no display", errNoBrowser)
		}
		name = "xdg-open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("%w: %s is not installed", errNoBrowser, name)
	}
	if err := exec.CommandContext(ctx, path, append(args, u)...).Run(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// uiURL is the lab's Backstage UI (the catalog) for a session.
func uiURL(s *provision.Session) string { return s.URL() + "/catalog" }
