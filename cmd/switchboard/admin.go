package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/admin"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// withAdmin opens the store, runs fn with an admin service, and closes it.
func withAdmin(ctx context.Context, sc *storageConfig, fn func(*admin.Service) error) error {
	store, err := sc.open(ctx, sqlite.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	return userError(fn(admin.New(store)))
}

// userError shows a domain error by its message alone.
func userError(err error) error {
	if err == nil {
		return nil
	}
	if code := switchboard.ErrorCode(err); code != switchboard.EINTERNAL {
		return fmt.Errorf("%s", switchboard.ErrorMessage(err))
	}
	return err
}

func domainCmd(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: switchboard domain add|set|list")
	}
	var sc storageConfig
	fs := newFlagSet("domain "+args[0], env.stderr)
	sc.register(fs)
	switch args[0] {
	case "add", "set":
		var ch admin.DomainChange
		fs.StringVar(&ch.Name, "name", "", "display name of the domain, like \"Acme Corp\"")
		fs.StringVar(&ch.Country, "country", "", "two-letter country for phone numbers typed without + (default US)")
		fs.StringVar(&ch.SMSHelp, "sms-help", "", "the automatic reply when an external number texts HELP")
		pos, err := parse(fs, args[1:], env.getenv)
		if err != nil {
			return err
		} else if len(pos) != 1 {
			return fmt.Errorf("usage: switchboard domain %s DOMAIN [--name \"Acme Corp\"] [--country US] [--sms-help TEXT]", args[0])
		}
		return withAdmin(ctx, &sc, func(a *admin.Service) error {
			if args[0] == "set" {
				d, err := a.SetDomain(ctx, pos[0], ch)
				if err == nil {
					fmt.Fprintf(env.stdout, "Updated domain %s (%s, %s).\n", d.Name, d.DisplayName, d.Country)
				}
				return err
			}
			d, err := a.AddDomainWith(ctx, ch, pos[0])
			if err == nil {
				fmt.Fprintf(env.stdout, "Added domain %s (%s).\n", d.Name, d.DisplayName)
			}
			return err
		})
	case "list":
		pos, err := parse(fs, args[1:], env.getenv)
		if err != nil {
			return err
		} else if len(pos) != 0 {
			return fmt.Errorf("usage: switchboard domain list")
		}
		return withAdmin(ctx, &sc, func(a *admin.Service) error {
			list, err := a.Domains(ctx)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, d := range list {
				rows = append(rows, []string{d.Name, d.DisplayName, d.CreatedAt.Format("2006-01-02")})
			}
			return printTable(env.stdout, []string{"DOMAIN", "NAME", "CREATED"}, rows)
		})
	}
	return fmt.Errorf("unknown domain command %q (want add, set or list)", args[0])
}

func userCmd(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: switchboard user add|list|set")
	}
	var sc storageConfig
	fs := newFlagSet("user "+args[0], env.stderr)
	sc.register(fs)
	switch args[0] {
	case "add":
		name := fs.String("name", "", "full name")
		level := fs.String("level", "basic", "permission level")
		password := fs.String("password", "", "portal password (prefer --password-stdin)")
		fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
		sipSecret := fs.String("sip-secret", "", "secret for the extension's SIP devices (digest auth)")
		pos, err := parse(fs, args[1:], env.getenv)
		if err != nil {
			return err
		} else if len(pos) != 1 {
			return fmt.Errorf("usage: switchboard user add EXT@DOMAIN --name \"Full Name\" [--level basic] (--password P | --password-stdin) [--sip-secret S]")
		}
		pw, err := readPassword(env, *password, *fromStdin, true)
		if err != nil {
			return err
		}
		return withAdmin(ctx, &sc, func(a *admin.Service) error {
			u, err := a.AddUserWithSIP(ctx, pos[0], *name, switchboard.Level(*level), pw, *sipSecret)
			if err == nil {
				fmt.Fprintf(env.stdout, "Added %s (%s, %s).\n", u.Address(), u.Name, u.Level)
			}
			return err
		})
	case "set":
		name := fs.String("name", "", "new full name")
		level := fs.String("level", "", "new permission level")
		fromStdin := fs.Bool("password-stdin", false, "read a new password from the first line of standard input")
		sipSecret := fs.String("sip-secret", "", "new secret for the extension's SIP devices")
		pos, err := parse(fs, args[1:], env.getenv)
		if err != nil {
			return err
		} else if len(pos) != 1 {
			return fmt.Errorf("usage: switchboard user set EXT@DOMAIN [--name N] [--level L] [--password-stdin] [--sip-secret S]")
		}
		pw, err := readPassword(env, "", *fromStdin, false)
		if err != nil {
			return err
		}
		return withAdmin(ctx, &sc, func(a *admin.Service) error {
			u, err := a.SetUser(ctx, pos[0], admin.UserChange{Name: *name, Level: switchboard.Level(*level), Password: pw, SIPSecret: *sipSecret})
			if err == nil {
				fmt.Fprintf(env.stdout, "Updated %s (%s, %s).\n", u.Address(), u.Name, u.Level)
			}
			return err
		})
	case "list":
		pos, err := parse(fs, args[1:], env.getenv)
		if err != nil {
			return err
		} else if len(pos) != 1 {
			return fmt.Errorf("usage: switchboard user list DOMAIN")
		}
		return withAdmin(ctx, &sc, func(a *admin.Service) error {
			list, err := a.Users(ctx, pos[0])
			if err != nil {
				return err
			}
			var rows [][]string
			for _, u := range list {
				rows = append(rows, []string{u.Extension, u.Name, string(u.Level)})
			}
			return printTable(env.stdout, []string{"EXTENSION", "NAME", "LEVEL"}, rows)
		})
	}
	return fmt.Errorf("unknown user command %q (want add, list or set)", args[0])
}

// readPassword returns the password from the flag or from stdin.
func readPassword(env *environment, flagValue string, fromStdin, required bool) (string, error) {
	switch {
	case flagValue != "" && fromStdin:
		return "", fmt.Errorf("give --password or --password-stdin, not both")
	case fromStdin:
		line, err := bufio.NewReader(env.stdin).ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if err != nil {
				return "", fmt.Errorf("read password from standard input: no password given")
			}
			return "", fmt.Errorf("read password from standard input: empty line")
		}
		return line, nil
	case flagValue != "":
		return flagValue, nil
	case required:
		return "", fmt.Errorf("a password is required: give --password or --password-stdin")
	}
	return "", nil
}

func apikeyCmd(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("usage: switchboard apikey add --domain DOMAIN")
	}
	var sc storageConfig
	fs := newFlagSet("apikey add", env.stderr)
	sc.register(fs)
	domain := fs.String("domain", "", "the domain whose phone system uses the key")
	pos, err := parse(fs, args[1:], env.getenv)
	if err != nil {
		return err
	} else if len(pos) != 0 || *domain == "" {
		return fmt.Errorf("usage: switchboard apikey add --domain DOMAIN")
	}
	return withAdmin(ctx, &sc, func(a *admin.Service) error {
		key, err := a.AddAPIKey(ctx, *domain)
		if err == nil {
			fmt.Fprintf(env.stdout, "%s\n", key)
			fmt.Fprintf(env.stderr, "API key for %s created. It is shown only now: store it in your phone system.\n", *domain)
		}
		return err
	})
}
