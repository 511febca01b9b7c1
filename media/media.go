// Package media inspects uploaded files: it sniffs their type from their
// bytes, and for pictures reads their dimensions and makes a thumbnail.
//
// Its functions are pure (no I/O beyond the reader they are given, no global
// state) and safe for concurrent use. Nothing a client uploads can make them
// panic; what they cannot handle is an error, and the caller then keeps the
// upload as a plain file.
package media

import (
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"github.com/gabriel-vasile/mimetype"
	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/switchboard-chat/switchboard"
)

// SniffLen is the number of leading bytes that Sniff needs to tell every
// type it knows; callers pass at least this many when the file has them.
const SniffLen = 3072

// MaxPixels is the largest picture, in pixels, that Process decodes. A
// picture's header is checked against it before any pixel is decoded, so a
// small file that claims huge dimensions (a decompression bomb) costs
// nothing.
const MaxPixels = 50_000_000

// Sniff returns the MIME type of a file from its first bytes, without
// parameters ("text/html", not "text/html; charset=utf-8"), and
// "application/octet-stream" when it cannot tell. It looks at the bytes only:
// a client's file name and declared type are never trusted.
//
// Callers pass the first SniffLen (3072) bytes or more, or the whole file if
// it is shorter: with fewer bytes, a text file may look binary or a container
// format may go unrecognised.
func Sniff(head []byte) string {
	t := mimetype.Detect(head).String()
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	return t
}

// codec decodes one picture format.
type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
	// thumbnailType is the format of thumbnails: JPEG for photographs,
	// PNG where transparency and sharp edges are likely.
	thumbnailType string
}

var codecs = map[string]codec{
	"image/jpeg": {jpeg.DecodeConfig, jpeg.Decode, "image/jpeg"},
	"image/png":  {png.DecodeConfig, png.Decode, "image/png"},
	"image/gif":  {gif.DecodeConfig, gif.Decode, "image/png"},
	"image/webp": {webp.DecodeConfig, webp.Decode, "image/jpeg"},
}

// IsPicture reports whether Process handles contentType, a type returned by
// Sniff: image/jpeg, image/png, image/gif or image/webp. Other images, SVG
// among them (it may carry scripts), are plain files.
func IsPicture(contentType string) bool {
	_, ok := codecs[contentType]
	return ok
}

// Picture is what Process learns from a picture.
type Picture struct {
	// Width and Height are as the user sees the picture: after the
	// rotation or flip of a JPEG's EXIF orientation.
	Width, Height int
	// Thumbnail is the picture, oriented, scaled down to fit the maxSide
	// given to Process (never up), and re-encoded, so it carries none of
	// the original's metadata (EXIF, GPS position, comments).
	Thumbnail []byte
	// ThumbnailType is the MIME type of Thumbnail: image/jpeg for JPEG
	// and WebP pictures, image/png for PNG and GIF pictures (it keeps
	// their transparency).
	ThumbnailType string
}

// errPanic marks a panic recovered by Process; the fuzz tests look for it.
var errPanic = errors.New("media: panic")

// Process decodes the picture in r, whose contentType is one for which
// IsPicture is true (as sniffed by Sniff, not as claimed by a client), and
// makes a thumbnail whose longer side is at most maxSide pixels. GIF
// animations are read up to their first frame.
//
// Process reads r from its start (it seeks to offset 0, several times) and
// leaves its offset anywhere. A picture over MaxPixels is ETOOLARGE; a type
// that is not a picture, or bytes that do not decode, is an error that is
// not a *switchboard.Error, and the caller keeps the file as a plain
// attachment. Process never panics.
//
// Decoding holds the whole picture in memory: up to a few hundred megabytes
// for a picture near MaxPixels, so callers bound how many run at once.
func Process(r io.ReadSeeker, contentType string, maxSide int) (p *Picture, err error) {
	// The decoders are meant not to panic on any input; this is the last
	// line should one of them, or this package, get it wrong.
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("%w: processing %s: %v", errPanic, contentType, v)
		}
	}()
	return process(r, contentType, maxSide, MaxPixels)
}

// process is Process without the recover, so that the fuzz tests see where a
// panic comes from, and with the pixel limit as a parameter, so that they
// need not allocate MaxPixels pictures.
func process(r io.ReadSeeker, contentType string, maxSide int, maxPixels int64) (*Picture, error) {
	c, ok := codecs[contentType]
	if !ok {
		return nil, fmt.Errorf("media: %q is not a picture type", contentType)
	}
	if maxSide < 1 {
		return nil, fmt.Errorf("media: thumbnail side %d is not positive", maxSide)
	}

	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	cfg, err := c.config(r)
	if err != nil {
		return nil, fmt.Errorf("media: read %s header: %w", contentType, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return nil, fmt.Errorf("media: %s of %dx%d pixels", contentType, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, switchboard.Errorf(switchboard.ETOOLARGE,
			"The picture is too large: %d×%d pixels, the limit is %d megapixels.",
			cfg.Width, cfg.Height, maxPixels/1_000_000)
	}

	orientation := 1
	if contentType == "image/jpeg" {
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("media: %w", err)
		}
		orientation = jpegOrientation(r)
	}

	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	img, err := c.decode(r)
	if err != nil {
		return nil, fmt.Errorf("media: decode %s: %w", contentType, err)
	}
	// The header was checked, not the decoded picture: they must agree.
	canvas := image.Rect(0, 0, cfg.Width, cfg.Height)
	if b := img.Bounds(); b != canvas {
		if b.Empty() || !b.In(canvas) {
			return nil, fmt.Errorf("media: %s header says %v, decoded %v", contentType, canvas, b)
		}
		// The first frame of a GIF may cover only part of its screen;
		// the rest is transparent.
		full := image.NewNRGBA(canvas)
		draw.Draw(full, b, img, b.Min, draw.Src)
		img = full
	}

	// Orienting the thumbnail rather than the picture gives the same
	// pixels at a fraction of the memory.
	thumb := orient(scale(img, maxSide, c.thumbnailType == "image/jpeg"), orientation)
	data, err := encode(thumb, c.thumbnailType)
	if err != nil {
		return nil, fmt.Errorf("media: encode thumbnail: %w", err)
	}
	p := &Picture{Width: cfg.Width, Height: cfg.Height, Thumbnail: data, ThumbnailType: c.thumbnailType}
	if swapsSides(orientation) {
		p.Width, p.Height = p.Height, p.Width
	}
	return p, nil
}
