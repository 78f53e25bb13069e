package backstage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// CheckerSignInPath is the lab image's checker-only sign-in: a proxy auth provider that issues a token for
// the catalog user named in the UserHeader, to the holder of the session's static token only.
const (
	CheckerSignInPath = "/api/auth/lab-checker/refresh"
	UserHeader        = "X-Lab-User"
)

// ErrNoCheckerSignIn means the backend has no checker sign-in (an image older than the provider).
var ErrNoCheckerSignIn = errors.New("this Backstage has no checker sign-in")

// UserToken signs in as the catalog user userRef (e.g. user:default/alice; a bare name means a user in the
// default namespace) through the lab image's checker sign-in and returns that user's Backstage token,
// carrying the user's ownership claims. It fails with an error matching ErrNotFound when the catalog has
// no such user, and with ErrNoCheckerSignIn when the image predates the sign-in.
func (c *Client) UserToken(ctx context.Context, userRef string) (string, error) {
	r := request{method: http.MethodGet, path: CheckerSignInPath, header: map[string]string{UserHeader: userRef}}
	status, data, err := c.raw(ctx, r)
	if err != nil {
		return "", fmt.Errorf("sign in as %s: %w", userRef, err)
	}
	if status != http.StatusOK {
		he := newHTTPError(r, status, data)
		// The auth backend answers 404 both for an unknown user and for a provider it does not have.
		if he.Status == http.StatusNotFound && strings.Contains(he.Message(), "No auth provider registered") {
			return "", fmt.Errorf("sign in as %s: %w (rebuild the image: `lab images build`, then `lab destroy` and `lab start`)", userRef, ErrNoCheckerSignIn)
		}
		if he.Status == http.StatusNotFound {
			return "", fmt.Errorf("sign in as %s: the catalog has no such user: %w", userRef, he)
		}
		return "", fmt.Errorf("sign in as %s: %w", userRef, he)
	}
	var out struct {
		BackstageIdentity struct {
			Token string `json:"token"`
		} `json:"backstageIdentity"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("sign in as %s: decode answer: %w", userRef, err)
	}
	if out.BackstageIdentity.Token == "" {
		return "", fmt.Errorf("sign in as %s: the answer has no token", userRef)
	}
	return out.BackstageIdentity.Token, nil
}
