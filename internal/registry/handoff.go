package registry

import (
	"errors"
	"strings"

	"github.com/incidenthub/incidenthub"
)

// A hand-off carries a secret the registry just issued from the request
// that issued it to the one page that shows it (the web UI redirects after
// a rotation, and the page may be served by another replica). It is sealed
// with the registry's key under an AAD of its own ("handoff/" + purpose),
// so it cannot be confused with, or swapped for, a stored secret.

// SealHandoff encrypts value for purpose (which the caller makes specific:
// the session and entry it belongs to).
func (r *Registry) SealHandoff(value, purpose string) (string, error) {
	if r.o.Keys == nil {
		return "", incidenthub.Errorf(incidenthub.ECONFLICT, "no secret key is configured")
	}
	if purpose == "" {
		return "", errors.New("handoff: purpose is required")
	}
	return r.o.Keys.Seal(value, "handoff/"+purpose)
}

// OpenHandoff decrypts what SealHandoff sealed for the same purpose.
func (r *Registry) OpenHandoff(sealed, purpose string) (string, error) {
	if r.o.Keys == nil {
		return "", incidenthub.Errorf(incidenthub.ECONFLICT, "no secret key is configured")
	}
	if purpose == "" || strings.TrimSpace(sealed) == "" {
		return "", errors.New("handoff: nothing to open")
	}
	return r.o.Keys.Open(sealed, "handoff/"+purpose)
}
