package media

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestZZTiming(t *testing.T) {
	dir := os.Getenv("CORPUS")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		lines := strings.Split(string(b), "\n")
		data, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatal(err)
		}
		k, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(lines[2], "byte("), ")"))
		if strings.HasPrefix(lines[2], "byte('") { r := []rune(lines[2][6:]); k = int(r[0]) }
		ct := fuzzTypes[k%4]
		start := time.Now()
		_, err = process(bytes.NewReader([]byte(data)), ct, 16, 1<<16)
		if d := time.Since(start); d > 10*time.Millisecond {
			t.Logf("%s %s %d bytes: %v err=%v", e.Name(), ct, len(data), d, err)
		}
	}
}
