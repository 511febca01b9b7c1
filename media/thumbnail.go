package media

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"

	"golang.org/x/image/draw"
)

// thumbnailQuality is the JPEG quality of thumbnails.
const thumbnailQuality = 80

// fit returns the size of a w×h picture scaled down, keeping its aspect
// ratio, so that its longer side is at most maxSide; a picture that fits
// already keeps its size. Neither side becomes less than 1.
func fit(w, h, maxSide int) (int, int) {
	if w <= maxSide && h <= maxSide {
		return w, h
	}
	shorter := func(short, long int) int {
		return max(1, int(math.Round(float64(short)*float64(maxSide)/float64(long))))
	}
	if w >= h {
		return maxSide, shorter(h, w)
	}
	return shorter(w, h), maxSide
}

// scale returns img scaled down to fit maxSide, as a new RGBA image with its
// origin at (0, 0). With opaque, transparent parts are laid on white, as a
// JPEG cannot keep them and would otherwise turn them black.
func scale(img image.Image, maxSide int, opaque bool) *image.RGBA {
	src := img.Bounds()
	w, h := fit(src.Dx(), src.Dy(), maxSide)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	op := draw.Src
	if opaque {
		draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
		op = draw.Over
	}
	if w == src.Dx() && h == src.Dy() {
		// Same size: copy, as resampling would only blur.
		draw.Draw(dst, dst.Bounds(), img, src.Min, op)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, src, op, nil)
	}
	return dst
}

// encode writes a thumbnail in the format of contentType. The encoders write
// pixels and nothing else: no EXIF, no GPS position, no comment.
func encode(img image.Image, contentType string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch contentType {
	case "image/jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: thumbnailQuality})
	case "image/png":
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		err = enc.Encode(&buf, img)
	default:
		err = fmt.Errorf("no encoder for %s", contentType)
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
