package media

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	_ "image/jpeg" // image.Decode of thumbnails
	_ "image/png"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

func TestSniff(t *testing.T) {
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	if f, err := zw.Create("notes.txt"); err != nil {
		t.Fatal(err)
	} else {
		io.WriteString(f, "hello")
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, SniffLen)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}

	picture := pattern(8, 8)
	pngBytes := encodePNG(t, picture)
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"png", pngBytes, "image/png"},
		// A client may name a PNG notes.txt and declare text/plain:
		// Sniff never sees either.
		{"png uploaded as notes.txt, text/plain", pngBytes, "image/png"},
		{"jpeg", encodeJPEG(t, picture), "image/jpeg"},
		{"gif", encodeGIF(t, picture), "image/gif"},
		{"webp", encodeWebP(t, picture), "image/webp"},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"), "application/pdf"},
		{"html", []byte("<!DOCTYPE html>\n<html><head><title>Hi</title></head><body><p>Hi</p></body></html>\n"), "text/html"},
		{"html after blank lines", []byte("\n\n  <html><body><script>alert(1)</script></body></html>"), "text/html"},
		{"svg", []byte(`<?xml version="1.0"?>` + "\n" + `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`), "image/svg+xml"},
		{"zip", zipped.Bytes(), "application/zip"},
		{"plain text", []byte("Meeting notes\nTuesday 10:00, room 2\n"), "text/plain"},
		{"utf-8 text", []byte("Grüße aus Köln ✓\n"), "text/plain"},
		{"binary", noise, "application/octet-stream"},
	}
	for _, tt := range tests {
		if got := Sniff(tt.head); got != tt.want {
			t.Errorf("Sniff(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestIsPicture(t *testing.T) {
	tests := map[string]bool{
		"image/jpeg":               true,
		"image/png":                true,
		"image/gif":                true,
		"image/webp":               true,
		"image/svg+xml":            false,
		"image/bmp":                false,
		"image/tiff":               false,
		"image/heic":               false,
		"text/plain":               false,
		"application/octet-stream": false,
		"":                         false,
		"image/JPEG":               false, // Sniff's types are lowercase
	}
	for in, want := range tests {
		if got := IsPicture(in); got != want {
			t.Errorf("IsPicture(%q) = %v, want %v", in, got, want)
		}
	}
}

// decodeThumbnail decodes p's thumbnail and checks that its type is as said.
func decodeThumbnail(t *testing.T, p *Picture) image.Image {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(p.Thumbnail))
	if err != nil {
		t.Fatalf("decode thumbnail: %v", err)
	}
	if "image/"+format != p.ThumbnailType {
		t.Errorf("thumbnail is %s, ThumbnailType %q", format, p.ThumbnailType)
	}
	if got := Sniff(p.Thumbnail); got != p.ThumbnailType {
		t.Errorf("thumbnail sniffs as %s, ThumbnailType %q", got, p.ThumbnailType)
	}
	return img
}

func TestProcessDimensions(t *testing.T) {
	picture := pattern(7, 5)
	tests := []struct {
		contentType   string
		data          []byte
		thumbnailType string
	}{
		{"image/jpeg", encodeJPEG(t, picture), "image/jpeg"},
		{"image/png", encodePNG(t, picture), "image/png"},
		{"image/gif", encodeGIF(t, picture), "image/png"},
		{"image/webp", encodeWebP(t, picture), "image/jpeg"},
	}
	for _, tt := range tests {
		p, err := Process(bytes.NewReader(tt.data), tt.contentType, 256)
		if err != nil {
			t.Errorf("Process(%s) = %v", tt.contentType, err)
			continue
		}
		if p.Width != 7 || p.Height != 5 || p.ThumbnailType != tt.thumbnailType {
			t.Errorf("Process(%s) = %dx%d, %s; want 7x5, %s", tt.contentType, p.Width, p.Height, p.ThumbnailType, tt.thumbnailType)
		}
		if b := decodeThumbnail(t, p).Bounds(); b.Dx() != 7 || b.Dy() != 5 {
			t.Errorf("Process(%s) thumbnail is %dx%d, want 7x5", tt.contentType, b.Dx(), b.Dy())
		}
	}
}

func TestProcessSizes(t *testing.T) {
	tests := []struct {
		w, h, maxSide int
		tw, th        int
	}{
		{400, 200, 100, 100, 50},
		{200, 400, 100, 50, 100},
		{300, 300, 100, 100, 100},
		{1000, 3, 100, 100, 1}, // a side never rounds to 0
		{101, 100, 100, 100, 99},
		{100, 100, 100, 100, 100}, // fits: as is
		{10, 5, 256, 10, 5},       // never upscaled
		{1, 1, 1, 1, 1},
	}
	for _, tt := range tests {
		if tw, th := fit(tt.w, tt.h, tt.maxSide); tw != tt.tw || th != tt.th {
			t.Errorf("fit(%d, %d, %d) = %d, %d; want %d, %d", tt.w, tt.h, tt.maxSide, tw, th, tt.tw, tt.th)
		}
		for _, ct := range []string{"image/png", "image/jpeg"} {
			var data []byte
			if ct == "image/png" {
				data = encodePNG(t, pattern(tt.w, tt.h))
			} else {
				data = encodeJPEG(t, pattern(tt.w, tt.h))
			}
			p, err := Process(bytes.NewReader(data), ct, tt.maxSide)
			if err != nil {
				t.Fatalf("Process(%s %dx%d, %d) = %v", ct, tt.w, tt.h, tt.maxSide, err)
			}
			if p.Width != tt.w || p.Height != tt.h {
				t.Errorf("Process(%s %dx%d, %d) = %dx%d, want the picture's size", ct, tt.w, tt.h, tt.maxSide, p.Width, p.Height)
			}
			if b := decodeThumbnail(t, p).Bounds(); b.Dx() != tt.tw || b.Dy() != tt.th {
				t.Errorf("Process(%s %dx%d, %d) thumbnail is %dx%d, want %dx%d", ct, tt.w, tt.h, tt.maxSide, b.Dx(), b.Dy(), tt.tw, tt.th)
			}
		}
	}
}

func TestProcessRemovesExifAndGPS(t *testing.T) {
	for _, order := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
		// 8x4: a red left half and a blue right half.
		stored := encodeJPEG(t, grid(4, []color.NRGBA{red, blue}))
		data := withExif(stored, exifTIFF(order, 6, true))
		if !bytes.Contains(data, []byte(gpsMarker)) || !bytes.Contains(data, []byte("Exif")) {
			t.Fatal("fixture holds no EXIF or GPS data")
		}
		if got := Sniff(data); got != "image/jpeg" {
			t.Fatalf("fixture sniffs as %s", got)
		}
		for _, maxSide := range []int{256, 8, 4, 2} {
			p, err := Process(bytes.NewReader(data), "image/jpeg", maxSide)
			if err != nil {
				t.Fatalf("Process(%v, maxSide %d) = %v", order, maxSide, err)
			}
			// Orientation 6: stored 8 wide and 4 high, shown 4 wide and 8 high.
			if p.Width != 4 || p.Height != 8 {
				t.Errorf("Process(%v) = %dx%d, want 4x8", order, p.Width, p.Height)
			}
			for _, leak := range []string{"Exif", gpsMarker, "GPS", "test\x00"} {
				if bytes.Contains(p.Thumbnail, []byte(leak)) {
					t.Errorf("Process(%v, maxSide %d) thumbnail contains %q", order, maxSide, leak)
				}
			}
			img := decodeThumbnail(t, p)
			b := img.Bounds()
			wantW, wantH := fit(4, 8, maxSide)
			if b.Dx() != wantW || b.Dy() != wantH {
				t.Errorf("Process(%v, maxSide %d) thumbnail is %dx%d, want %dx%d", order, maxSide, b.Dx(), b.Dy(), wantW, wantH)
			}
			if maxSide >= 8 {
				// Turned clockwise, the left half is now on top.
				if c := img.At(b.Dx()/2, b.Dy()/4); !near(c, red) {
					t.Errorf("Process(%v, maxSide %d): top is %v, want red", order, maxSide, c)
				}
				if c := img.At(b.Dx()/2, 3*b.Dy()/4); !near(c, blue) {
					t.Errorf("Process(%v, maxSide %d): bottom is %v, want blue", order, maxSide, c)
				}
			}
		}
	}
}

// near reports whether c is want, give or take what JPEG does to colours.
func near(c color.Color, want color.NRGBA) bool {
	got := color.NRGBAModel.Convert(c).(color.NRGBA)
	d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
	return d(got.R, want.R) < 48 && d(got.G, want.G) < 48 && d(got.B, want.B) < 48 && d(got.A, want.A) < 48
}

func TestProcessOrientations(t *testing.T) {
	// Stored: 2 cells wide and 3 high, of 16 pixels each, so that JPEG's
	// blocks do not blur one cell into another.
	stored := [][]color.NRGBA{
		{red, green},
		{blue, yellow},
		{magenta, cyan},
	}
	jpg := encodeJPEG(t, grid(16, stored...))
	for orientation, want := range orientedCells(stored) {
		data := withExif(jpg, exifTIFF(binary.LittleEndian, uint16(orientation), false))
		p, err := Process(bytes.NewReader(data), "image/jpeg", 1000)
		if err != nil {
			t.Fatalf("Process(orientation %d) = %v", orientation, err)
		}
		wantW, wantH := 16*len(want[0]), 16*len(want)
		if p.Width != wantW || p.Height != wantH {
			t.Errorf("Process(orientation %d) = %dx%d, want %dx%d", orientation, p.Width, p.Height, wantW, wantH)
		}
		img := decodeThumbnail(t, p)
		if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
			t.Fatalf("Process(orientation %d) thumbnail is %dx%d, want %dx%d", orientation, b.Dx(), b.Dy(), wantW, wantH)
		}
		for row := range want {
			for col := range want[row] {
				if c := img.At(16*col+8, 16*row+8); !near(c, want[row][col]) {
					t.Errorf("Process(orientation %d): cell (%d, %d) is %v, want %v", orientation, col, row, c, want[row][col])
				}
			}
		}
	}
}

// orientedCells returns, for each EXIF orientation, the cells a user sees of
// the 2-wide, 3-high picture whose stored cells are
//
//	a b
//	c d
//	e f
func orientedCells(s [][]color.NRGBA) map[int][][]color.NRGBA {
	a, b, c, d, e, f := s[0][0], s[0][1], s[1][0], s[1][1], s[2][0], s[2][1]
	return map[int][][]color.NRGBA{
		1: {{a, b}, {c, d}, {e, f}},
		2: {{b, a}, {d, c}, {f, e}}, // flipped left-right
		3: {{f, e}, {d, c}, {b, a}}, // turned 180°
		4: {{e, f}, {c, d}, {a, b}}, // flipped top-bottom
		5: {{a, c, e}, {b, d, f}},   // transposed
		6: {{e, c, a}, {f, d, b}},   // turned 90° clockwise
		7: {{f, d, b}, {e, c, a}},   // transversed
		8: {{b, d, f}, {a, c, e}},   // turned 90° counter-clockwise
	}
}

func TestProcessTransparency(t *testing.T) {
	picture := grid(4, []color.NRGBA{red, transparent}, []color.NRGBA{transparent, blue})
	tests := []struct {
		contentType string
		data        []byte
		clearColour color.NRGBA // what a transparent cell becomes
	}{
		{"image/png", encodePNG(t, picture), transparent},
		{"image/gif", encodeGIFTransparent(t, picture), transparent},
		// JPEG thumbnails lay transparency on white, not black.
		{"image/webp", encodeWebP(t, grid(4, []color.NRGBA{{255, 0, 0, 255}, {255, 255, 255, 0}})), white},
	}
	for _, tt := range tests {
		p, err := Process(bytes.NewReader(tt.data), tt.contentType, 256)
		if err != nil {
			t.Fatalf("Process(%s) = %v", tt.contentType, err)
		}
		img := decodeThumbnail(t, p)
		if c := img.At(2, 2); !near(c, red) {
			t.Errorf("Process(%s): opaque cell is %v, want red", tt.contentType, c)
		}
		if c := img.At(6, 2); !near(c, tt.clearColour) {
			t.Errorf("Process(%s): transparent cell is %v, want %v", tt.contentType, c, tt.clearColour)
		}
	}
}

// encodeGIFTransparent encodes img, whose transparent pixels become the
// transparent index of the GIF's palette.
func encodeGIFTransparent(t *testing.T, img *image.NRGBA) []byte {
	t.Helper()
	palette := color.Palette{transparent, red, blue, green}
	pm := image.NewPaletted(img.Bounds(), palette)
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			pm.Set(x, y, img.At(x, y))
		}
	}
	var buf bytes.Buffer
	if err := gif.Encode(&buf, pm, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestProcessGIFFrameSmallerThanScreen(t *testing.T) {
	frame := image.NewPaletted(image.Rect(2, 2, 6, 6), color.Palette{transparent, red})
	for i := range frame.Pix {
		frame.Pix[i] = 1
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{
		Image:  []*image.Paletted{frame},
		Delay:  []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 8, Height: 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Process(bytes.NewReader(buf.Bytes()), "image/gif", 256)
	if err != nil {
		t.Fatalf("Process = %v", err)
	}
	if p.Width != 8 || p.Height != 8 {
		t.Errorf("Process = %dx%d, want the screen's 8x8", p.Width, p.Height)
	}
	img := decodeThumbnail(t, p)
	if b := img.Bounds(); b.Dx() != 8 || b.Dy() != 8 {
		t.Fatalf("thumbnail is %v, want 8x8", b)
	}
	for _, pt := range []struct {
		x, y int
		want color.NRGBA
	}{{0, 0, transparent}, {7, 7, transparent}, {2, 2, red}, {5, 5, red}, {6, 6, transparent}} {
		if c := img.At(pt.x, pt.y); !near(c, pt.want) {
			t.Errorf("thumbnail at (%d, %d) is %v, want %v", pt.x, pt.y, c, pt.want)
		}
	}
}

func TestProcessRefusesHugePictures(t *testing.T) {
	tests := []struct {
		contentType string
		data        []byte
	}{
		{"image/png", pngHeader(10_000, 10_000)},
		{"image/jpeg", jpegHeader(10_000, 10_000)},
		{"image/jpeg", jpegHeader(65535, 65535)},
		{"image/gif", gifHeader(65535, 65535)},
		{"image/webp", webpHeader(10_000, 10_000)},
	}
	for _, tt := range tests {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Process(bytes.NewReader(tt.data), tt.contentType, 256)
		runtime.ReadMemStats(&after)
		if got := switchboard.ErrorCode(err); got != switchboard.ETOOLARGE {
			t.Errorf("Process(%s claiming a huge picture) = %v, want code %q", tt.contentType, err, switchboard.ETOOLARGE)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("Process(%s claiming a huge picture) allocated %d bytes, want < 1 MB", tt.contentType, got)
		}
	}
}

func TestProcessPixelLimit(t *testing.T) {
	tests := []struct {
		w, h     int
		wantCode string
	}{
		{10, 10, ""},
		{100, 1, ""},
		{11, 10, switchboard.ETOOLARGE},
		{101, 1, switchboard.ETOOLARGE},
	}
	for _, tt := range tests {
		data := encodePNG(t, pattern(tt.w, tt.h))
		_, err := process(bytes.NewReader(data), "image/png", 64, 100)
		if got := switchboard.ErrorCode(err); got != tt.wantCode {
			t.Errorf("process(%dx%d, limit 100 pixels) = %v, want code %q", tt.w, tt.h, err, tt.wantCode)
		}
	}
}

func TestProcessBadInput(t *testing.T) {
	jpg := encodeJPEG(t, pattern(64, 64))
	corrupt := bytes.Clone(jpg)
	noise := rand.New(rand.NewPCG(3, 4))
	for i := 2; i < len(corrupt); i++ {
		corrupt[i] = byte(noise.Uint32())
	}
	badSOF := bytes.Clone(jpg)
	if i := bytes.Index(badSOF, []byte{0xff, 0xc0}); i < 0 {
		t.Fatal("no SOF0 in the fixture")
	} else {
		badSOF[i+9] = 7 // components
	}
	tests := []struct {
		name, contentType string
		data              []byte
	}{
		{"empty", "image/jpeg", nil},
		{"SOI only", "image/jpeg", jpg[:2]},
		{"truncated header", "image/jpeg", jpg[:40]},
		{"truncated scan", "image/jpeg", jpg[:len(jpg)/2]},
		{"header only", "image/jpeg", jpegHeader(16, 16)},
		{"7 components", "image/jpeg", badSOF},
		{"noise after SOI", "image/jpeg", corrupt},
		{"a PNG said to be a JPEG", "image/jpeg", encodePNG(t, pattern(8, 8))},
		{"zero-size PNG", "image/png", pngHeader(0, 10)},
		{"PNG claiming 2³¹-1 pixels a side", "image/png", pngHeader(1<<31-1, 1<<31-1)},
		{"text", "image/png", []byte("not a picture")},
		{"not a picture type", "text/plain", []byte("hello")},
		{"svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	}
	for _, tt := range tests {
		p, err := Process(bytes.NewReader(tt.data), tt.contentType, 64)
		if err == nil || p != nil {
			t.Errorf("Process(%s) = %v, %v; want an error", tt.name, p, err)
		}
		if errors.Is(err, errPanic) {
			t.Errorf("Process(%s) panicked: %v", tt.name, err)
		}
		if code := switchboard.ErrorCode(err); code != switchboard.EINTERNAL {
			t.Errorf("Process(%s) = code %q; want a plain error, not a user-facing one", tt.name, code)
		}
	}
	for _, maxSide := range []int{0, -1} {
		if _, err := Process(bytes.NewReader(jpg), "image/jpeg", maxSide); err == nil {
			t.Errorf("Process(maxSide %d) succeeded", maxSide)
		}
	}
}

func TestProcessTruncated(t *testing.T) {
	for _, f := range seeds(t) {
		if strings.HasPrefix(f.name, "header") {
			continue
		}
		for n := range len(f.data) {
			// process, not Process: a panic fails the test with its stack.
			p, err := process(bytes.NewReader(f.data[:n]), f.contentType, 16, MaxPixels)
			// Decoders stop at the first frame's end, and a PNG's last
			// chunk or a JPEG's last marker may be missing; the picture
			// itself must not be.
			if err == nil && n < len(f.data)*3/4 {
				t.Errorf("Process(%s cut to %d of %d bytes) = %dx%d, want an error", f.name, n, len(f.data), p.Width, p.Height)
			}
		}
	}
}

// panicReader panics when read.
type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("reader bug") }
func (panicReader) Seek(int64, int) (int64, error) {
	return 0, nil
}

func TestProcessRecovers(t *testing.T) {
	_, err := Process(panicReader{}, "image/png", 64)
	if !errors.Is(err, errPanic) || !strings.Contains(err.Error(), "reader bug") {
		t.Errorf("Process(a reader that panics) = %v, want the panic as an error", err)
	}
}

// fixture is a file for the seeds of the fuzz tests.
type fixture struct {
	name, contentType string
	data              []byte
}

// seeds returns a file of each kind that Process handles.
func seeds(t testing.TB) []fixture {
	picture := pattern(12, 9)
	return []fixture{
		{"jpeg", "image/jpeg", encodeJPEG(t, picture)},
		{"jpeg with EXIF and GPS", "image/jpeg", withExif(encodeJPEG(t, picture), exifTIFF(binary.BigEndian, 6, true))},
		{"png", "image/png", encodePNG(t, picture)},
		{"gif", "image/gif", encodeGIF(t, picture)},
		{"webp", "image/webp", encodeWebP(t, picture)},
		{"header png", "image/png", pngHeader(10_000, 10_000)},
		{"header jpeg", "image/jpeg", jpegHeader(10_000, 10_000)},
		{"header gif", "image/gif", gifHeader(10_000, 10_000)},
		{"header webp", "image/webp", webpHeader(10_000, 10_000)},
	}
}

var fuzzTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

func FuzzProcess(f *testing.F) {
	for _, s := range seeds(f) {
		for i, ct := range fuzzTypes {
			if ct == s.contentType {
				f.Add(s.data, uint8(i))
			}
		}
	}
	const maxSide = 16
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		ct := fuzzTypes[int(kind)%len(fuzzTypes)]
		// A small pixel limit keeps each run fast; process, not Process,
		// so that a panic fails with its stack.
		p, err := process(bytes.NewReader(data), ct, maxSide, 1<<16)
		if err != nil {
			return
		}
		if p.Width < 1 || p.Height < 1 || p.Width*p.Height > 1<<16 {
			t.Errorf("process = %dx%d", p.Width, p.Height)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(p.Thumbnail))
		if err != nil {
			t.Fatalf("thumbnail does not decode: %v", err)
		}
		if "image/"+format != p.ThumbnailType || max(cfg.Width, cfg.Height) > maxSide {
			t.Errorf("thumbnail is %s %dx%d, want %s of at most %d pixels a side", format, cfg.Width, cfg.Height, p.ThumbnailType, maxSide)
		}
		if (p.Width >= p.Height) != (cfg.Width >= cfg.Height) && p.Width != p.Height && cfg.Width != cfg.Height {
			t.Errorf("thumbnail %dx%d is not the picture's shape %dx%d", cfg.Width, cfg.Height, p.Width, p.Height)
		}
		if diff := cmp.Diff(codecs[ct].thumbnailType, p.ThumbnailType); diff != "" {
			t.Errorf("ThumbnailType (-want +got):\n%s", diff)
		}
	})
}
