package main

import (
	"fmt"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
)

func newVersionCmd(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print lab's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := provision.Version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v = "dev-" + s.Value[:12]
					}
				}
			}
			fmt.Fprintf(f.IO.Out, "lab %s\n", v)
			return nil
		},
	}
}

// labJSON is the documented shape of one lab in `lab list --json`.
type labJSON struct {
	Slug       string       `json:"slug"`
	Title      string       `json:"title"`
	Domain     string       `json:"domain"`
	DomainName string       `json:"domain_name"`
	Topic      string       `json:"topic"`
	TopicName  string       `json:"topic_name"`
	Minutes    int          `json:"minutes"`
	Summary    string       `json:"summary"`
	Tasks      int          `json:"tasks"`
	Progress   progressJSON `json:"progress"`
}

type listOptions struct{ JSON bool }

func newListCmd(f *cli.Factory) *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the labs by exam domain, with your progress",
		Example: "  lab list\n  lab list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := f.Catalog()
			if err != nil {
				return err
			}
			state, err := f.State()
			if err != nil {
				return err
			}
			out := make([]labJSON, 0, len(cat.Labs))
			for _, l := range cat.Labs {
				out = append(out, labJSON{Slug: l.Slug, Title: l.Title, Domain: l.Domain, DomainName: labs.Domains[l.Domain],
					Topic: l.Topic, TopicName: labs.Topics[l.Topic], Minutes: l.Minutes, Summary: l.Summary,
					Tasks: len(l.Tasks), Progress: loadProgress(state, l)})
			}
			if o.JSON {
				return writeJSON(f, out)
			}
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			domain := ""
			for _, l := range out {
				if l.Domain != domain {
					if domain != "" {
						fmt.Fprintln(tw)
					}
					domain = l.Domain
					fmt.Fprintf(tw, "%s %s\n", l.Domain, l.DomainName)
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%d min\t%d/%d done\n", l.Slug, l.Title, l.TopicName, l.Minutes, l.Progress.Done, l.Tasks)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(f.IO.ErrOut, "\nStart one with: lab start <lab>")
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}
