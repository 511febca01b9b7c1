package texting

import (
	"context"
	"regexp"
	"strings"

	"github.com/switchboard-chat/switchboard"
)

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// requiredCredentials lists what each kind of provider needs.
var requiredCredentials = map[string][]string{
	switchboard.ProviderSim:    {"secret"},
	switchboard.ProviderTwilio: {"account_sid", "auth_token"},
	switchboard.ProviderTelnyx: {"api_key", "public_key"},
	switchboard.ProviderKannel: {"username", "password", "secret"},
}

// AddProvider stores a provider account after checking its kind and that
// every credential the kind needs is there.
func (s *Service) AddProvider(ctx context.Context, p *switchboard.Provider) error {
	p.Name = strings.TrimSpace(p.Name)
	if !providerName.MatchString(p.Name) {
		return switchboard.Errorf(switchboard.EINVALID, "A provider name is 1 to 40 lowercase letters, digits and dashes.")
	}
	need, ok := requiredCredentials[p.Kind]
	if !ok {
		return switchboard.Errorf(switchboard.EINVALID, "Kind %q is not one of sim, twilio, telnyx, kannel.", p.Kind)
	}
	if p.Kind == switchboard.ProviderKannel && p.APIURL == "" {
		return switchboard.Errorf(switchboard.EINVALID, "A kannel provider needs --api-url, the address of Kannel's sendsms interface.")
	}
	for _, k := range need {
		if strings.TrimSpace(p.Credentials[k]) == "" {
			return switchboard.Errorf(switchboard.EINVALID, "A %s provider needs --%s.", p.Kind, strings.ReplaceAll(k, "_", "-"))
		}
	}
	for k, v := range p.Credentials {
		if v == "" {
			delete(p.Credentials, k)
		}
	}
	// Check that an adapter can be built from it before storing it.
	if _, err := s.factory(p, func(switchboard.DeliveryReport) {}); err != nil {
		return err
	}
	return s.store.CreateProvider(ctx, p)
}

// AddNumber adds a texting number, typed in any common format, to a domain
// and assigns it to extensions (none is allowed).
func (s *Service) AddNumber(ctx context.Context, raw, domain, provider string, assign []string) (*switchboard.TextingNumber, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	d, err := s.store.FindDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	num, err := Normalize(raw, d.Country)
	if err != nil {
		return nil, err
	}
	n := &switchboard.TextingNumber{Number: num, Domain: domain, Provider: provider, Assigned: assign}
	if err := s.store.CreateNumber(ctx, n); err != nil {
		return nil, err
	}
	return n, nil
}

// Assign replaces the extensions a texting number is assigned to.
func (s *Service) Assign(ctx context.Context, raw string, exts []string) (*switchboard.TextingNumber, error) {
	num, err := Normalize(raw, "US")
	if err != nil {
		return nil, err
	}
	return s.store.AssignNumber(ctx, num, exts)
}

// Numbers lists the texting numbers of a domain.
func (s *Service) Numbers(ctx context.Context, domain string) ([]*switchboard.TextingNumber, error) {
	return s.store.ListNumbers(ctx, strings.ToLower(strings.TrimSpace(domain)))
}
