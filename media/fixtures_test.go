package media

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"slices"
	"testing"
)

// The pictures of these tests are made here, in code, so that what each one
// holds is plain to read.

var (
	red         = color.NRGBA{255, 0, 0, 255}
	green       = color.NRGBA{0, 255, 0, 255}
	blue        = color.NRGBA{0, 0, 255, 255}
	yellow      = color.NRGBA{255, 255, 0, 255}
	magenta     = color.NRGBA{255, 0, 255, 255}
	cyan        = color.NRGBA{0, 255, 255, 255}
	black       = color.NRGBA{0, 0, 0, 255}
	white       = color.NRGBA{255, 255, 255, 255}
	transparent = color.NRGBA{0, 0, 0, 0}
)

// grid returns a picture of rows of cells of side pixels, each cell one
// colour, so that where each cell ends up tells how a picture was turned.
func grid(side int, rows ...[]color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, len(rows[0])*side, len(rows)*side))
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			img.SetNRGBA(x, y, rows[y/side][x/side])
		}
	}
	return img
}

// pattern returns a w×h picture of the eight colours whose channels are 0 or
// 255, in diagonal stripes.
func pattern(w, h int) *image.NRGBA {
	colours := []color.NRGBA{red, green, blue, yellow, magenta, cyan, black, white}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, colours[(x+y)%len(colours)])
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeGIF(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// encodeWebP encodes img as a lossless WebP (VP8L), for pictures whose
// every channel takes at most two values, as there is no WebP encoder in Go.
// Each channel then has a "simple" prefix code of one or two symbols, so a
// pixel costs at most four bits, with no transforms, colour cache or
// backward references. (WebP lossless bitstream specification, RFC 9649.)
func encodeWebP(t testing.TB, img *image.NRGBA) []byte {
	t.Helper()
	b := img.Bounds()
	// Channels in the order of their prefix codes: green, red, blue, alpha.
	channel := func(c color.NRGBA, i int) uint8 { return [4]uint8{c.G, c.R, c.B, c.A}[i] }
	var symbols [4][]uint8
	opaque := true
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			opaque = opaque && c.A == 255
			for i := range symbols {
				if v := channel(c, i); !slices.Contains(symbols[i], v) {
					symbols[i] = append(symbols[i], v)
				}
			}
		}
	}
	var w bitWriter
	w.write(0x2f, 8) // signature
	w.write(uint32(b.Dx()-1), 14)
	w.write(uint32(b.Dy()-1), 14)
	if opaque {
		w.write(0, 1)
	} else {
		w.write(1, 1)
	}
	w.write(0, 3) // version
	w.write(0, 1) // no transform
	w.write(0, 1) // no colour cache
	w.write(0, 1) // no meta prefix codes
	for i := range symbols {
		slices.Sort(symbols[i])
		if len(symbols[i]) > 2 {
			t.Fatalf("encodeWebP: channel %d takes %d values, at most 2 supported", i, len(symbols[i]))
		}
		w.simpleCode(symbols[i]...)
	}
	w.simpleCode(0) // distances, unused
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			for i := range symbols {
				if len(symbols[i]) == 2 {
					w.write(uint32(slices.Index(symbols[i], channel(c, i))), 1)
				}
			}
		}
	}
	return riffWebP("VP8L", w.bytes())
}

// riffWebP wraps one chunk in a WebP file.
func riffWebP(fourCC string, chunk []byte) []byte {
	var out []byte
	out = append(out, "RIFF"...)
	padded := len(chunk) + len(chunk)%2
	out = binary.LittleEndian.AppendUint32(out, uint32(4+8+padded))
	out = append(out, "WEBP"...)
	out = append(out, fourCC...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(chunk)))
	out = append(out, chunk...)
	if len(chunk)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf   []byte
	nBits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := range n {
		if w.nBits%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		w.buf[len(w.buf)-1] |= byte(v>>i&1) << (w.nBits % 8)
		w.nBits++
	}
}

// simpleCode writes a prefix code of one or two 8-bit symbols.
func (w *bitWriter) simpleCode(symbols ...uint8) {
	w.write(1, 1) // simple
	w.write(uint32(len(symbols)-1), 1)
	w.write(1, 1) // the first symbol has 8 bits
	for _, s := range symbols {
		w.write(uint32(s), 8)
	}
}

func (w *bitWriter) bytes() []byte { return w.buf }

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffEntry is one entry of an IFD. Values of up to four bytes sit in the
// entry; longer ones are placed after the IFDs by exifTIFF.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	value    []byte
}

// exifTIFF returns the TIFF structure of an EXIF segment: IFD0 with the
// given orientation (none if 0) and, with gps, a GPS IFD (pointed to by tag
// 0x8825) holding a position and a processing method that contains
// gpsMarker, so that tests can tell whether the position leaked.
func exifTIFF(order byteOrder, orientation uint16, gps bool) []byte {
	short := func(v uint16) []byte { return order.AppendUint16(nil, v) }
	long := func(v uint32) []byte { return order.AppendUint32(nil, v) }
	var ifd0 []tiffEntry
	if orientation != 0 {
		ifd0 = append(ifd0, tiffEntry{tagOrientation, typeShort, 1, short(orientation)})
	}
	ifd0 = append(ifd0, tiffEntry{0x0131, 2, 5, []byte("test\x00")}) // Software
	var gpsIFD []tiffEntry
	if gps {
		ifd0 = append(ifd0, tiffEntry{0x8825, typeLong, 1, nil}) // offset filled below
		var lat []byte
		for _, v := range []uint32{48, 1, 51, 1, 2958, 100} { // 48°51'29.58"
			lat = append(lat, long(v)...)
		}
		gpsIFD = []tiffEntry{
			{0x0000, 1, 4, []byte{2, 3, 0, 0}}, // GPSVersionID
			{0x0001, 2, 2, []byte("N\x00")},    // GPSLatitudeRef
			{0x0002, 5, 3, lat},                // GPSLatitude
			{0x001b, 7, uint32(len(gpsMarker) + 8), append([]byte("ASCII\x00\x00\x00"), gpsMarker...)},
		}
	}

	ifdSize := func(entries []tiffEntry) int { return 2 + 12*len(entries) + 4 }
	ifd0Off := 8
	gpsOff := ifd0Off + ifdSize(ifd0)
	dataOff := gpsOff
	if gps {
		dataOff += ifdSize(gpsIFD)
		for i := range ifd0 {
			if ifd0[i].tag == 0x8825 {
				ifd0[i].value = long(uint32(gpsOff))
			}
		}
	}
	var data []byte
	writeIFD := func(out []byte, entries []tiffEntry) []byte {
		out = append(out, short(uint16(len(entries)))...)
		for _, e := range entries {
			out = append(out, short(e.tag)...)
			out = append(out, short(e.typ)...)
			out = append(out, long(e.count)...)
			if len(e.value) <= 4 {
				out = append(out, e.value...)
				out = append(out, make([]byte, 4-len(e.value))...)
			} else {
				out = append(out, long(uint32(dataOff+len(data)))...)
				data = append(data, e.value...)
				if len(data)%2 == 1 {
					data = append(data, 0)
				}
			}
		}
		return append(out, long(0)...) // no next IFD
	}
	var out []byte
	if order == byteOrder(binary.LittleEndian) {
		out = append(out, "II"...)
	} else {
		out = append(out, "MM"...)
	}
	out = append(out, short(42)...)
	out = append(out, long(uint32(ifd0Off))...)
	out = writeIFD(out, ifd0)
	if gps {
		out = writeIFD(out, gpsIFD)
	}
	return append(out, data...)
}

// gpsMarker is text in the GPS IFD of exifTIFF.
const gpsMarker = "GPS-SECRET-48.8582N-2.2945E"

// withSegment returns the JPEG file jpg with a segment inserted right after
// its SOI marker.
func withSegment(jpg []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xff, marker}
	seg = binary.BigEndian.AppendUint16(seg, uint16(2+len(payload)))
	seg = append(seg, payload...)
	return slices.Concat(jpg[:2], seg, jpg[2:])
}

// withExif returns jpg with an EXIF APP1 segment holding tiff.
func withExif(jpg, tiff []byte) []byte {
	return withSegment(jpg, 0xe1, slices.Concat([]byte(exifHeader), tiff))
}

// pngHeader returns the start of a PNG file, signature and IHDR, that claims
// w×h RGBA pixels and has none.
func pngHeader(w, h uint32) []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8 bits, RGBA, deflate, no filter, no interlace
	out = binary.BigEndian.AppendUint32(out, uint32(len(ihdr)-4))
	out = append(out, ihdr...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr))
}

// jpegHeader returns the start of a baseline JPEG file, SOI, SOF0 and the
// header of SOS, that claims w×h pixels in three components and has no
// tables and no pixels.
func jpegHeader(w, h uint16) []byte {
	out := []byte{0xff, 0xd8, 0xff, 0xc0, 0, 17, 8}
	out = binary.BigEndian.AppendUint16(out, h)
	out = binary.BigEndian.AppendUint16(out, w)
	out = append(out, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0)
	return append(out, 0xff, 0xda, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)
}

// gifHeader returns the start of a GIF file that claims a w×h screen.
func gifHeader(w, h uint16) []byte {
	out := []byte("GIF89a")
	out = binary.LittleEndian.AppendUint16(out, w)
	out = binary.LittleEndian.AppendUint16(out, h)
	return append(out, 0, 0, 0)
}

// webpHeader returns the start of an extended WebP file whose VP8X chunk
// claims a w×h canvas.
func webpHeader(w, h uint32) []byte {
	chunk := []byte{0, 0, 0, 0}
	chunk = append(chunk, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	chunk = append(chunk, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	return riffWebP("VP8X", chunk)
}
