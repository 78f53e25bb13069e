package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/provision/docker"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"lab": func() { os.Exit(run(os.Args[1:], os.Getenv)) },
	})
}

// TestScript runs the end-to-end scripts in testdata/script: a learner's session against a real
// Backstage and PostgreSQL in Docker. Skipped under -short and without Docker.
func TestScript(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts Backstage in Docker")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Condition: func(cond string) (bool, error) {
			if cond == "docker" {
				return dockerAvailable(), nil
			}
			if lab, ok := strings.CutPrefix(cond, "session:"); ok {
				return sessionExists(lab), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"api-status": cmdAPIStatus,
			"labelled":   cmdLabelled,
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("LAB_STATE_DIR", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("NO_COLOR", "1")
			for _, k := range []string{"DOCKER_HOST", "LAB_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"} {
				if v := os.Getenv(k); v != "" {
					env.Setenv(k, v)
				}
			}
			work := env.WorkDir
			env.Defer(func() { destroyUnder(work) })
			return nil
		},
	})
}

// TestScriptOffline runs the scripts that need no Docker daemon: bad input, help, labs.
func TestScriptOffline(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/offline",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("LAB_STATE_DIR", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("NO_COLOR", "1")
			return nil
		},
	})
}

// cmdAPIStatus: api-status LAB token|none|wrong PATH — prints the HTTP status of GET PATH on the lab's
// Backstage, sent with the session's token, without one, or with a wrong one.
func cmdAPIStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: api-status LAB token|none|wrong PATH")
	}
	eng, err := docker.New()
	ts.Check(err)
	defer eng.Close()
	s, err := provision.Find(context.Background(), eng, args[0])
	ts.Check(err)
	req, err := http.NewRequest(http.MethodGet, s.URL()+args[2], nil)
	ts.Check(err)
	switch args[1] {
	case "token":
		req.Header.Set("Authorization", "Bearer "+s.Token)
	case "wrong":
		req.Header.Set("Authorization", "Bearer not-the-session-token")
	}
	res, err := http.DefaultClient.Do(req)
	ts.Check(err)
	res.Body.Close()
	fmt.Fprintf(ts.Stdout(), "%d\n", res.StatusCode)
}

// cmdLabelled: labelled LAB — prints how many containers, networks and volumes carry the lab's label.
func cmdLabelled(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: labelled LAB")
	}
	eng, err := docker.New()
	ts.Check(err)
	defer eng.Close()
	rs, err := eng.List(context.Background(), map[string]string{provision.LabelLab: args[0]})
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%d\n", len(rs))
}

// sessionExists reports whether a lab's session exists on the Docker host (a developer's own lab, which a
// test must not take over).
func sessionExists(lab string) bool {
	eng, err := docker.New()
	if err != nil {
		return false
	}
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = provision.Find(ctx, eng, lab)
	return err == nil
}

func dockerAvailable() bool {
	eng, err := docker.New()
	if err != nil {
		return false
	}
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return eng.Ping(ctx) == nil
}

// destroyUnder removes every lab session whose workspace lies under dir (a script's work dir), so a
// failing script leaves nothing behind.
func destroyUnder(dir string) {
	eng, err := docker.New()
	if err != nil {
		return
	}
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all, err := provision.FindAll(ctx, eng)
	if err != nil {
		return
	}
	for _, s := range all {
		if strings.HasPrefix(s.Workspace, dir) {
			_, _ = provision.Destroy(ctx, eng, s.Lab, provision.Discard)
		}
	}
}
