package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/chat"
	"github.com/switchboard-chat/switchboard/sms/sim"
	"github.com/switchboard-chat/switchboard/sqlite"
	"github.com/switchboard-chat/switchboard/texting"
)

// providerFactory builds the adapter of a provider account.
func providerFactory(client *http.Client) texting.Factory {
	return func(p *switchboard.Provider, report func(switchboard.DeliveryReport)) (switchboard.SMSProvider, error) {
		switch p.Kind {
		case switchboard.ProviderSim:
			return sim.New(p, report)
		}
		return newHTTPProvider(p, client)
	}
}

// mediaKey returns the key that signs MMS media links, made once and kept
// in the data directory.
func mediaKey(data string) ([]byte, error) {
	file := filepath.Join(data, "media.key")
	if b, err := os.ReadFile(file); err == nil && len(b) >= 32 {
		return b, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, key, 0o600); err != nil {
		return nil, fmt.Errorf("write media key: %w", err)
	}
	return key, nil
}

// withTexting opens the store and runs fn with a texting service for the
// admin commands.
func withTexting(ctx context.Context, sc *storageConfig, fn func(*texting.Service) error) error {
	store, err := sc.open(ctx, sqlite.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	svc := texting.New(texting.Deps{Store: store, Chat: chat.New(chat.Deps{Store: store}), Factory: providerFactory(http.DefaultClient)})
	return userError(fn(svc))
}

func providerCmd(ctx context.Context, env *environment, args []string) error {
	usage := fmt.Errorf("usage: switchboard provider add NAME --kind sim|twilio|telnyx|kannel [--api-url URL] [credentials]")
	if len(args) == 0 || args[0] != "add" {
		return usage
	}
	var sc storageConfig
	fs := newFlagSet("provider add", env.stderr)
	sc.register(fs)
	kind := fs.String("kind", "", "sim, twilio, telnyx or kannel")
	apiURL := fs.String("api-url", "", "the provider's API base URL (for tests and regional endpoints; Kannel's sendsms URL)")
	creds := map[string]*string{}
	for _, c := range []struct{ flag, help string }{
		{"account-sid", "Twilio account SID"}, {"auth-token", "Twilio auth token"},
		{"api-key", "Telnyx API key"}, {"public-key", "Telnyx webhook public key (base64)"},
		{"username", "Kannel sendsms username"}, {"password", "Kannel sendsms password"},
		{"secret", "shared secret in Kannel's and the simulator's webhook URLs"},
	} {
		creds[c.flag] = fs.String(c.flag, "", c.help+" (or SWITCHBOARD_"+strings.ToUpper(strings.ReplaceAll(c.flag, "-", "_"))+"_FILE)")
	}
	pos, err := parse(fs, args[1:], env.getenv)
	if err != nil {
		return err
	} else if len(pos) != 1 {
		return usage
	}
	p := &switchboard.Provider{Name: pos[0], Kind: *kind, APIURL: *apiURL, Credentials: map[string]string{}}
	for flag, v := range creds {
		val := *v
		if val == "" {
			if file := env.getenv("SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_")) + "_FILE"); file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("read %s: %w", flag, err)
				}
				val = strings.TrimSpace(string(b))
			}
		}
		if val != "" {
			p.Credentials[strings.ReplaceAll(flag, "-", "_")] = val
		}
	}
	if p.Kind == switchboard.ProviderSim && p.Credentials["secret"] == "" {
		p.Credentials["secret"] = switchboard.NewSecret()
	}
	return withTexting(ctx, &sc, func(t *texting.Service) error {
		if err := t.AddProvider(ctx, p); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "Added provider %s (%s). Its webhook is POST /webhooks/sms/%s.\n", p.Name, p.Kind, p.Name)
		return nil
	})
}

func numberCmd(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: switchboard number add|assign|list")
	}
	var sc storageConfig
	fs := newFlagSet("number "+args[0], env.stderr)
	sc.register(fs)
	switch args[0] {
	case "add":
		domain := fs.String("domain", "", "the domain that owns the number")
		provider := fs.String("provider", "", "the provider account it is bound to")
		assign := fs.String("assign", "", "extensions to assign it to, like 101,102")
		pos, err := parse(fs, args[1:], env.getenv)
		if err != nil {
			return err
		} else if len(pos) != 1 || *domain == "" || *provider == "" {
			return fmt.Errorf("usage: switchboard number add +E164 --domain DOMAIN --provider NAME [--assign EXT[,EXT...]]")
		}
		return withTexting(ctx, &sc, func(t *texting.Service) error {
			n, err := t.AddNumber(ctx, pos[0], *domain, *provider, splitList(*assign))
			if err == nil {
				fmt.Fprintf(env.stdout, "Added %s to %s via %s, assigned to %s.\n", n.Number, n.Domain, n.Provider, listOrNone(n.Assigned))
			}
			return err
		})
	case "assign":
		to := fs.String("to", "", "extensions, like 101,102 (empty: nobody)")
		pos, err := parse(fs, args[1:], env.getenv)
		if err != nil {
			return err
		} else if len(pos) != 1 {
			return fmt.Errorf("usage: switchboard number assign +E164 --to EXT[,EXT...]")
		}
		return withTexting(ctx, &sc, func(t *texting.Service) error {
			n, err := t.Assign(ctx, pos[0], splitList(*to))
			if err == nil {
				fmt.Fprintf(env.stdout, "%s is assigned to %s.\n", n.Number, listOrNone(n.Assigned))
			}
			return err
		})
	case "list":
		pos, err := parse(fs, args[1:], env.getenv)
		if err != nil {
			return err
		} else if len(pos) != 1 {
			return fmt.Errorf("usage: switchboard number list DOMAIN")
		}
		return withTexting(ctx, &sc, func(t *texting.Service) error {
			list, err := t.Numbers(ctx, pos[0])
			if err != nil {
				return err
			}
			var rows [][]string
			for _, n := range list {
				rows = append(rows, []string{n.Number, n.Provider, listOrNone(n.Assigned)})
			}
			return printTable(env.stdout, []string{"NUMBER", "PROVIDER", "ASSIGNED TO"}, rows)
		})
	}
	return fmt.Errorf("unknown number command %q (want add, assign or list)", args[0])
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "nobody"
	}
	return strings.Join(l, ", ")
}
