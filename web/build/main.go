// Command build bundles the portal with esbuild's Go API: it is run by
// `go generate ./web` (from the web directory) after `npm ci` has fetched
// the packages into web/node_modules.
//
// It writes web/dist: assets/app-HASH.js and assets/app-HASH.css (minified,
// with linked source maps), assets/icon-HASH.svg, manifest.webmanifest and
// index.html that references them, plus a .gz beside every compressible file.
// Everything else in dist except .gitkeep is removed first.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

func main() {
	dir := flag.String("dir", ".", "the web directory (with src/, node_modules/ and dist/)")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "web build:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "preact", "package.json")); err != nil {
		return errors.New("web/node_modules is missing: run `npm ci` in web/ first (`make web` does both)")
	}
	res := api.Build(api.BuildOptions{
		AbsWorkingDir:       dir,
		EntryPointsAdvanced: []api.EntryPoint{{InputPath: "src/main.tsx", OutputPath: "app"}},
		Outdir:              filepath.Join(dir, "dist", "assets"),
		EntryNames:          "[name]-[hash]",
		AssetNames:          "[name]-[hash]",
		Bundle:              true,
		Format:              api.FormatESModule,
		Platform:            api.PlatformBrowser,
		Target:              api.ES2022,
		JSX:                 api.JSXAutomatic,
		JSXImportSource:     "preact",
		Tsconfig:            "tsconfig.json",
		MinifyWhitespace:    true,
		MinifyIdentifiers:   true,
		MinifySyntax:        true,
		Sourcemap:           api.SourceMapLinked,
		SourcesContent:      api.SourcesContentExclude,
		LegalComments:       api.LegalCommentsLinked,
		Charset:             api.CharsetUTF8,
		Loader:              map[string]api.Loader{".svg": api.LoaderFile, ".png": api.LoaderFile},
		LogLevel:            api.LogLevelWarning,
		Write:               false,
	})
	if len(res.Errors) > 0 {
		return fmt.Errorf("esbuild: %d errors (see above)", len(res.Errors))
	}

	out := filepath.Join(dir, "dist")
	if err := clean(out); err != nil {
		return err
	}
	var js, css string
	for _, f := range res.OutputFiles {
		rel, err := filepath.Rel(out, f.Path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch base := filepath.Base(rel); {
		case strings.HasPrefix(base, "app-") && strings.HasSuffix(base, ".js"):
			js = rel
		case strings.HasPrefix(base, "app-") && strings.HasSuffix(base, ".css"):
			css = rel
		}
		if err := write(out, rel, f.Contents); err != nil {
			return err
		}
	}
	if js == "" || css == "" {
		return fmt.Errorf("esbuild wrote no app JavaScript or CSS (js %q, css %q)", js, css)
	}

	iconSrc, err := os.ReadFile(filepath.Join(dir, "src", "icon.svg"))
	if err != nil {
		return err
	}
	icon := "assets/icon-" + shortHash(iconSrc) + ".svg"
	if err := write(out, icon, iconSrc); err != nil {
		return err
	}
	manifest, err := json.MarshalIndent(map[string]any{
		"name":             "Switchboard",
		"short_name":       "Switchboard",
		"description":      "Team chat and presence for your phone system.",
		"start_url":        "/",
		"scope":            "/",
		"display":          "standalone",
		"background_color": "#f4f5f8",
		"theme_color":      "#4338ca",
		"icons":            []map[string]string{{"src": "/" + icon, "sizes": "any", "type": "image/svg+xml", "purpose": "any"}},
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := write(out, "manifest.webmanifest", manifest); err != nil {
		return err
	}
	var index bytes.Buffer
	if err := indexPage.Execute(&index, map[string]string{"JS": "/" + js, "CSS": "/" + css, "Icon": "/" + icon}); err != nil {
		return err
	}
	if err := write(out, "index.html", index.Bytes()); err != nil {
		return err
	}
	fmt.Printf("web: wrote %s, %s and index.html to %s\n", js, css, out)
	return nil
}

// clean removes everything in dir except .gitkeep.
func clean(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.Name() == ".gitkeep" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// write writes dir/rel, and rel.gz beside it for compressible types.
func write(dir, rel string, b []byte) error {
	name := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	switch filepath.Ext(rel) {
	case ".js", ".css", ".svg", ".map", ".txt":
	default:
		return nil
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return err
	}
	if gz.Len() >= len(b) {
		return nil
	}
	return os.WriteFile(name+".gz", gz.Bytes(), 0o644)
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return strings.ToUpper(hex.EncodeToString(sum[:4]))
}

// indexPage is the only HTML of the portal; everything else is rendered by
// the app. No inline script or style: the CSP forbids both.
var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="color-scheme" content="light">
<meta name="theme-color" content="#4338ca">
<meta name="description" content="Switchboard: team chat and presence for your phone system.">
<title>Switchboard</title>
<link rel="icon" href="{{.Icon}}" type="image/svg+xml">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="stylesheet" href="{{.CSS}}">
<script type="module" src="{{.JS}}"></script>
</head>
<body>
<div id="app"><div class="boot" role="status">Loading Switchboard…</div></div>
<noscript><p class="noscript">Switchboard needs JavaScript. Turn it on in your browser and reload the page.</p></noscript>
</body>
</html>
`))
