package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
)

type apiOptions struct {
	Lab       string
	Method    string
	Path      string
	Data      string
	ShowToken bool
}

func newAPICmd(f *cli.Factory) *cobra.Command {
	o := &apiOptions{}
	cmd := &cobra.Command{
		Use:   "api [METHOD] PATH",
		Short: "Call the lab's Backstage REST API with the session's token",
		Long: `Sends a request to the running lab's Backstage backend, authenticated with the session's token, and
prints the response body (JSON is indented). Use it for tasks that talk to the API, e.g. registering a
catalog location. --token prints the token and the base URL for curl instead.`,
		Example: `  lab api /api/catalog/entities/by-name/component/default/payments-api
  lab api POST /api/catalog/locations --data '{"type":"file","target":"/workspace/extra/catalog-info.yaml"}'
  lab api DELETE /api/catalog/locations/<id>
  lab api --token        # for curl -H "Authorization: Bearer $TOKEN"`,
		Args: cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 1:
				o.Method, o.Path = "GET", args[0]
			case 2:
				o.Method, o.Path = strings.ToUpper(args[0]), args[1]
			default:
				if !o.ShowToken {
					return cli.FlagErrorf("give the path to call, e.g. lab api /api/catalog/entities")
				}
			}
			if o.Path != "" && !strings.HasPrefix(o.Path, "/") {
				return cli.FlagErrorf("the path must start with /, e.g. /api/catalog/entities")
			}
			_, s, err := openSession(cmd.Context(), f, o.Lab)
			if err != nil {
				return err
			}
			if o.ShowToken {
				fmt.Fprintf(f.IO.Out, "BACKSTAGE_URL=%s\nTOKEN=%s\n", s.URL(), s.Token)
				return nil
			}
			var body any
			if o.Data != "" {
				data := []byte(o.Data)
				if o.Data == "-" {
					if data, err = io.ReadAll(f.IO.In); err != nil {
						return err
					}
				}
				if err := json.Unmarshal(data, &body); err != nil {
					return cli.FlagErrorf("--data is not valid JSON: %v", err)
				}
			}
			status, resp, err := backstage.New(s.URL(), s.Token).Do(cmd.Context(), o.Method, o.Path, body)
			if err != nil {
				return err
			}
			var pretty bytes.Buffer
			if json.Indent(&pretty, resp, "", "  ") == nil {
				resp = append(pretty.Bytes(), '\n')
			}
			_, _ = f.IO.Out.Write(resp)
			fmt.Fprintf(f.IO.ErrOut, "HTTP %d\n", status)
			if status >= 400 {
				return cli.Exit(cli.ExitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Lab, "lab", "", "the lab (default: the running one)")
	cmd.Flags().StringVarP(&o.Data, "data", "d", "", "JSON request body (- reads standard input)")
	cmd.Flags().BoolVar(&o.ShowToken, "token", false, "print the base URL and the session's token")
	return cmd
}
