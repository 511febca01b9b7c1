package main

import (
	"net/http"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sms/kannel"
	"github.com/switchboard-chat/switchboard/sms/telnyx"
	"github.com/switchboard-chat/switchboard/sms/twilio"
)

// newHTTPProvider builds the adapters of the providers reached over HTTP.
func newHTTPProvider(p *switchboard.Provider, client *http.Client) (switchboard.SMSProvider, error) {
	switch p.Kind {
	case switchboard.ProviderTwilio:
		return twilio.New(p, client)
	case switchboard.ProviderTelnyx:
		return telnyx.New(p, client)
	case switchboard.ProviderKannel:
		return kannel.New(p, client)
	}
	return nil, switchboard.Errorf(switchboard.EINVALID, "Provider kind %q is not one of sim, twilio, telnyx, kannel.", p.Kind)
}
