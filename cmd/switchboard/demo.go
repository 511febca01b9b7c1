package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/admin"
	"github.com/switchboard-chat/switchboard/sms/sim"
	"github.com/switchboard-chat/switchboard/sqlite"
	"github.com/switchboard-chat/switchboard/texting"
)

// The demo domain and its extensions.
const demoDomain = "acme.example"

var demoUsers = []struct {
	ext, name string
	level     switchboard.Level
}{
	{"101", "Avery Brooks", switchboard.LevelOfficeManager},
	{"102", "Blake Rivera", switchboard.LevelBasic},
	{"103", "Casey Chen", switchboard.LevelBasic},
}

type demoInfo struct {
	passwords map[string]string
}

// seedDemo creates the demo domain and extensions when missing. Their
// passwords are random, kept in DATA/demo-passwords.txt (mode 0600) so that
// they can be printed again at every start.
func seedDemo(ctx context.Context, store *sqlite.Store, data string) (*demoInfo, error) {
	a := admin.New(store)
	file := filepath.Join(data, "demo-passwords.txt")
	info := &demoInfo{passwords: readDemoPasswords(file)}
	if _, err := store.FindDomain(ctx, demoDomain); switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		if _, err := a.AddDomain(ctx, demoDomain, "Acme Corp (demo)"); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	for _, u := range demoUsers {
		addr := u.ext + "@" + demoDomain
		if _, err := store.FindUser(ctx, demoDomain, u.ext); err == nil {
			continue
		}
		pw := strings.ToLower(switchboard.NewSecret()[:12])
		if _, err := a.AddUser(ctx, addr, u.name, u.level, pw); err != nil {
			return nil, err
		}
		info.passwords[addr] = pw
	}
	var b strings.Builder
	for _, u := range demoUsers {
		addr := u.ext + "@" + demoDomain
		fmt.Fprintf(&b, "%s %s\n", addr, info.passwords[addr])
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	return info, nil
}

func readDemoPasswords(file string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(file)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if addr, pw, ok := strings.Cut(strings.TrimSpace(line), " "); ok && pw != "" {
			out[addr] = pw
		}
	}
	return out
}

func (d *demoInfo) print(w io.Writer, url string) {
	fmt.Fprintf(w, "\nDemo domain %s is ready. Open %s and sign in as one of:\n", demoDomain, url)
	for _, u := range demoUsers {
		addr := u.ext + "@" + demoDomain
		pw := d.passwords[addr]
		if pw == "" {
			pw = "(password changed; not shown)"
		}
		fmt.Fprintf(w, "  %-18s %-22s %-16s %s\n", addr, u.name, u.level, pw)
	}
	fmt.Fprintf(w, "\n101 texts from %s; play the customer's phone at %s/sim\n", demoNumber, url)
	fmt.Fprintf(w, "\nOr try the API:\n  curl -s %s/api/v1/login -d '{\"username\":\"101@%s\",\"password\":\"%s\"}'\n\n",
		url, demoDomain, d.passwords["101@"+demoDomain])
}

// The demo's texting number, on the simulated carrier.
const (
	demoProvider = "sim"
	demoNumber   = "+14155550100"
)

// simPage adds, when missing, the simulated provider and a texting number
// assigned to 101, and returns the phone simulator's page.
func simPage(ctx context.Context, store *sqlite.Store, tx *texting.Service) (http.Handler, error) {
	p, err := store.FindProvider(ctx, demoProvider)
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		p = &switchboard.Provider{Name: demoProvider, Kind: switchboard.ProviderSim, Credentials: map[string]string{"secret": switchboard.NewSecret()}}
		if err := tx.AddProvider(ctx, p); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if _, err := store.FindNumber(ctx, demoNumber); switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		if _, err := tx.AddNumber(ctx, demoNumber, demoDomain, demoProvider, []string{"101"}); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	numbers := func() []string {
		list, _ := store.ListNumbers(context.Background(), demoDomain)
		var out []string
		for _, n := range list {
			if n.Provider == demoProvider {
				out = append(out, n.Number)
			}
		}
		return out
	}
	get := func() (*sim.Sim, error) {
		a, err := tx.Provider(context.Background(), demoProvider)
		if err != nil {
			return nil, err
		}
		s, ok := a.(*sim.Sim)
		if !ok {
			return nil, fmt.Errorf("provider %s is not a simulator", demoProvider)
		}
		return s, nil
	}
	return sim.Handler(demoProvider, p.Credentials["secret"], numbers, get), nil
}
