package backstage

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestUserToken(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"GET " + CheckerSignInPath: func(w http.ResponseWriter, r *http.Request) {
			switch r.Header.Get(UserHeader) {
			case "user:default/alice":
				fmt.Fprint(w, `{"profile":{},"backstageIdentity":{"token":"alice-token","identity":{"type":"user","userEntityRef":"user:default/alice","ownershipEntityRefs":["user:default/alice"]}}}`)
			default:
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"error":{"name":"NotFoundError","message":"User not found"}}`)
			}
		},
	})
	token, err := c.UserToken(t.Context(), "user:default/alice")
	if err != nil || token != "alice-token" {
		t.Fatalf("UserToken(alice) = %q, %v; want alice-token", token, err)
	}
	_, err = c.UserToken(t.Context(), "user:default/nobody")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no such user") {
		t.Fatalf("UserToken(nobody) = %v; want ErrNotFound saying there is no such user", err)
	}
}

func TestUserTokenWithoutCheckerSignIn(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"GET " + CheckerSignInPath: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"name":"NotFoundError","message":"No auth provider registered for 'lab-checker'"}}`)
		},
	})
	_, err := c.UserToken(t.Context(), "user:default/alice")
	if !errors.Is(err, ErrNoCheckerSignIn) || errors.Is(err, ErrNotFound) {
		t.Fatalf("UserToken on an old image = %v; want ErrNoCheckerSignIn, not ErrNotFound (not the learner's fault)", err)
	}
}

func TestUserTokenRefused(t *testing.T) {
	c := newTestServer(t, map[string]http.HandlerFunc{
		"GET " + CheckerSignInPath: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":{"name":"NotAllowedError","message":"The lab-checker sign-in is only for the lab checker"}}`)
		},
	})
	_, err := c.UserToken(t.Context(), "alice")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "only for the lab checker") {
		t.Fatalf("UserToken refused = %v; want the backend's message", err)
	}
}
