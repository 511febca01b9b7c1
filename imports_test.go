package switchboard_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces the layout of STYLE.md: the root imports only the
// standard library; use cases import no adapter; adapters never import each
// other; only cmd/ wires adapters together.
func TestImportRules(t *testing.T) {
	const mod = "github.com/switchboard-chat/switchboard"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	// Packages that are neither adapters nor use cases: pure libraries that
	// may be used by anyone (and internal ones, by their neighbours), and
	// packages used only by tests.
	library := map[string]bool{"media": true, "docs": true}
	useCase := map[string]bool{"chat": true, "presence": true, "admin": true, "texting": true}
	testOnly := map[string]bool{"storetest": true, "docs/openapitest": true}
	kind := func(pkg string) string {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, mod), "/")
		switch {
		case pkg == mod:
			return "root"
		case strings.HasPrefix(rel, "cmd/"):
			return "cmd"
		case testOnly[rel]:
			return "test"
		case library[rel]:
			return "library"
		case useCase[rel]:
			return "usecase"
		case strings.Contains("/"+rel+"/", "/internal/"):
			// Go lets only the packages around an internal/ folder import
			// what is in it: code they share (sms/internal), a library.
			return "library"
		}
		return "adapter"
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		k := kind(pkg)
		for _, imp := range imports {
			internal := strings.HasPrefix(imp, mod)
			switch {
			case k == "root" && strings.Contains(strings.SplitN(imp, "/", 2)[0], "."):
				t.Errorf("root package imports %s: the root uses the standard library only", imp)
			case !internal || k == "cmd" || k == "test":
			case k == "library" && imp != mod:
				t.Errorf("library %s imports %s", pkg, imp)
			case k == "usecase" && kind(imp) == "adapter":
				t.Errorf("use case %s imports adapter %s", pkg, imp)
			case k == "adapter" && kind(imp) == "adapter":
				t.Errorf("adapter %s imports adapter %s: only cmd/ wires adapters", pkg, imp)
			}
		}
	}
}
