package main

import (
	"github.com/spf13/cobra"

	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
)

func newRootCmd(f *cli.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "lab",
		Short: "Hands-on Backstage labs on your own machine",
		Long: `lab starts a real Backstage backend and PostgreSQL in local Docker containers for a lab,
lays out a workspace you edit with your own editor, and checks your work task by task.`,
		Example: `  lab list                      # labs by exam domain, with your progress
  lab start catalog-relations   # start a lab; creates ./catalog-relations/
  lab check                     # which tasks are done, and what is still wrong
  lab check --watch             # re-check on every save
  lab hint                      # the next hint for the first unfinished task
  lab destroy                   # remove the containers (your workspace stays)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.PersistentFlags().StringVar(&f.LabsDir, "labs-dir", "", "load labs from this directory instead of the built-in ones (for lab authors; also $LAB_LABS_DIR)")
	root.PersistentFlags().StringVar(&f.Progress, "progress", "auto", "progress output: auto, tty, plain, json or quiet")
	root.AddCommand(
		newVersionCmd(f),
		newListCmd(f),
		newStartCmd(f),
		newStatusCmd(f),
		newOpenCmd(f),
		newLogsCmd(f),
		newStopCmd(f),
		newRestartCmd(f),
		newDestroyCmd(f),
		newCheckCmd(f),
		newTasksCmd(f),
		newHintCmd(f),
		newSolveCmd(f),
		newResetCmd(f),
		newVerifyCmd(f),
		newAPICmd(f),
		newImagesCmd(f),
		newWorkshopCmd(f),
	)
	return root
}
