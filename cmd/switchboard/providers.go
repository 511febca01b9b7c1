package main

import (
	"net/http"

	"github.com/switchboard-chat/switchboard"
)

// newHTTPProvider builds the adapters of the providers reached over HTTP.
func newHTTPProvider(p *switchboard.Provider, client *http.Client) (switchboard.SMSProvider, error) {
	return nil, switchboard.Errorf(switchboard.EINVALID, "Provider kind %q is not available in this build.", p.Kind)
}
