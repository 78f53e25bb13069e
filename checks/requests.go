package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/backstage-lab/lab/checks/backstage"
	"github.com/backstage-lab/lab/labs"
)

// Some tasks are done through the API, not in files: registering or unregistering a location,
// deleting an orphaned entity. A lab states the calls that reach its start (fixtures.requests) and its
// end state (solutionRequests); these functions send them, the way a learner would with `lab api`.

// RequestWait bounds how long a request waits for a {uid:...} placeholder to resolve and for its
// waitFor entity.
var RequestWait = 60 * time.Second

// requestPoll is the pause between two lookups while waiting.
var requestPoll = time.Second

// ApplyFixtureRequests sends the lab's fixtures.requests (lab start of a new session, lab verify).
func ApplyFixtureRequests(ctx context.Context, env Env, lab *labs.Lab) error {
	return applyRequests(ctx, env, "fixtures.requests", lab.Fixtures.Requests)
}

// ApplySolutionRequests sends the lab's solutionRequests; call it after copying solution/ (and after
// restarting Backstage when the solution changes the learner's config).
func ApplySolutionRequests(ctx context.Context, env Env, lab *labs.Lab) error {
	return applyRequests(ctx, env, "solutionRequests", lab.SolutionRequests)
}

// ResetRequests puts the API-made part of a lab's catalog back to its start (lab reset): it
// unregisters every registered location, then sends fixtures.requests again. Labs without requests
// are left alone.
func ResetRequests(ctx context.Context, env Env, lab *labs.Lab) error {
	if len(lab.Fixtures.Requests) == 0 && len(lab.SolutionRequests) == 0 {
		return nil
	}
	locs, err := registeredLocations(ctx, env)
	if err != nil {
		return err
	}
	for _, l := range locs {
		status, body, err := env.API.Do(ctx, http.MethodDelete, "/api/catalog/locations/"+l.ID, nil)
		if err != nil {
			return fmt.Errorf("unregister location %s: %w", l.Target, err)
		}
		if status >= 300 && status != http.StatusNotFound {
			return fmt.Errorf("unregister location %s: status %d: %s", l.Target, status, snippet(string(body), 200))
		}
	}
	return ApplyFixtureRequests(ctx, env, lab)
}

func applyRequests(ctx context.Context, env Env, field string, reqs []labs.Request) error {
	if len(reqs) == 0 {
		return nil
	}
	refreshLocations(ctx, env) // so that lookups see the workspace as it is now
	for i, r := range reqs {
		if err := applyRequest(ctx, env, r); err != nil {
			return fmt.Errorf("%s[%d] (%s %s): %w", field, i+1, strings.ToUpper(r.Method), r.URL, err)
		}
	}
	return nil
}

func applyRequest(ctx context.Context, env Env, r labs.Request) error {
	method := strings.ToUpper(r.Method)
	url, err := resolvePlaceholders(ctx, env, r.URL)
	var unresolved *unresolvedError
	if errors.As(err, &unresolved) && method == http.MethodDelete {
		return nil // what it would delete is not there: already done
	}
	if err != nil {
		return err
	}
	var body any
	if r.Body != nil {
		body = jsonable(r.Body)
	}
	status, data, err := env.API.Do(ctx, method, url, body)
	if err != nil {
		return err
	}
	// A location registered earlier (lab solve run twice) answers 409: the state is already reached.
	if status >= 300 && (status != http.StatusConflict || method != http.MethodPost) {
		return fmt.Errorf("status %d: %s", status, snippet(string(data), 300))
	}
	if r.WaitFor == "" {
		return nil
	}
	_, err = waitFor(ctx, "entity "+r.WaitFor, func() (string, bool, error) {
		_, err := env.API.Entity(ctx, r.WaitFor)
		if errors.Is(err, backstage.ErrNotFound) {
			return "", false, nil
		}
		return "", err == nil, err
	})
	return err
}

// unresolvedError: a placeholder did not resolve within RequestWait.
type unresolvedError struct{ what string }

func (e *unresolvedError) Error() string {
	return "found no " + e.what
}

// resolvePlaceholders replaces {location:TARGET} and {uid:FILTER} in a URL (see labs.Request).
func resolvePlaceholders(ctx context.Context, env Env, url string) (string, error) {
	var firstErr error
	out := labs.RequestPlaceholder.ReplaceAllStringFunc(url, func(m string) string {
		if firstErr != nil {
			return m
		}
		g := labs.RequestPlaceholder.FindStringSubmatch(m)
		var v string
		var err error
		switch g[1] {
		case "location":
			// Registering is synchronous: a location is in the list or not, so there is nothing to wait for.
			v, err = lookupLocation(ctx, env, g[2])
		case "uid":
			v, err = waitFor(ctx, "single entity matching "+g[2], func() (string, bool, error) {
				found, err := env.API.Query(ctx, g[2], "metadata.uid", "metadata.name")
				if err != nil || len(found) != 1 || found[0].Metadata.UID == "" {
					return "", false, err
				}
				return found[0].Metadata.UID, true, nil
			})
		}
		if err != nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

// lookupLocation returns the id of the registered location whose target is target.
func lookupLocation(ctx context.Context, env Env, target string) (string, error) {
	locs, err := registeredLocations(ctx, env)
	if err != nil {
		return "", err
	}
	for _, l := range locs {
		if strings.TrimPrefix(l.Target, "file:") == strings.TrimPrefix(target, "file:") {
			return l.ID, nil
		}
	}
	return "", &unresolvedError{what: "registered location with target " + target}
}

// waitFor polls lookup until it reports ok, returns an API error, or RequestWait passes
// (an *unresolvedError naming what).
func waitFor(ctx context.Context, what string, lookup func() (string, bool, error)) (string, error) {
	deadline := time.Now().Add(RequestWait)
	for {
		v, ok, err := lookup()
		if err != nil {
			return "", err
		}
		if ok {
			return v, nil
		}
		if time.Now().Add(requestPoll).After(deadline) {
			return "", &unresolvedError{what: fmt.Sprintf("%s within %s", what, RequestWait)}
		}
		sleep(ctx, requestPoll)
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
}

// registeredLocation is one item of GET /api/catalog/locations.
type registeredLocation struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Target string `json:"target"`
}

func registeredLocations(ctx context.Context, env Env) ([]registeredLocation, error) {
	status, data, err := env.API.Do(ctx, http.MethodGet, "/api/catalog/locations", nil)
	if err != nil {
		return nil, fmt.Errorf("list registered locations: %w", err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("list registered locations: status %d: %s", status, snippet(string(data), 200))
	}
	var items []struct {
		Data registeredLocation `json:"data"`
	}
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("list registered locations: %w", err)
	}
	out := make([]registeredLocation, len(items))
	for i, it := range items {
		out[i] = it.Data
	}
	return out, nil
}

// refreshLocations asks the catalog to re-read every Location entity now (best effort).
func refreshLocations(ctx context.Context, env Env) {
	locs, err := env.API.Query(ctx, "kind=location", "kind", "metadata.name", "metadata.namespace")
	if err != nil {
		return
	}
	forEach(ctx, len(locs), DefaultParallel, func(i int) {
		_ = env.API.Refresh(ctx, locs[i].Ref())
	})
}
