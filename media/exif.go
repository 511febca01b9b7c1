package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"image"
	"io"
)

// A JPEG's EXIF orientation says how to turn the stored pixels to show the
// picture upright, as a camera held sideways stores them unturned. The
// values (EXIF 2.32, tag 0x0112) and what shows the picture upright:
//
//	1 as stored           5 transpose (flip along the main diagonal)
//	2 flip left-right     6 rotate 90° clockwise
//	3 rotate 180°         7 transverse (flip along the other diagonal)
//	4 flip top-bottom     8 rotate 90° counter-clockwise
//
// The parser below reads only what it needs, checks every offset against the
// bytes it has, and answers 1 (as stored) for anything it does not
// understand: a wrong orientation is a sideways picture, a panic is worse.

const (
	exifHeader     = "Exif\x00\x00"
	tagOrientation = 0x0112
	typeShort      = 3
	typeLong       = 4

	// maxSegments bounds the markers read before giving up on finding
	// EXIF, which comes first in every file that has it.
	maxSegments = 64
)

// jpegOrientation returns the EXIF orientation of the JPEG file in r, from
// 1 to 8, and 1 when it has none or the file is malformed. It reads the
// segments before the first scan and no further.
func jpegOrientation(r io.Reader) int {
	br := bufio.NewReader(r)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xff, 0xd8} {
		return 1
	}
	for range maxSegments {
		c, err := br.ReadByte()
		if err != nil || c != 0xff {
			return 1
		}
		marker := byte(0xff)
		for marker == 0xff { // fill bytes
			if marker, err = br.ReadByte(); err != nil {
				return 1
			}
		}
		switch {
		case marker == 0xd8, marker == 0xd9, marker == 0xda, marker == 0x00:
			// Another SOI, the end, or the first scan: no EXIF before.
			return 1
		case marker == 0x01, 0xd0 <= marker && marker <= 0xd7:
			continue // no length, no payload
		}
		var length [2]byte
		if _, err := io.ReadFull(br, length[:]); err != nil {
			return 1
		}
		n := int(binary.BigEndian.Uint16(length[:]))
		if n < 2 {
			return 1
		}
		n -= 2
		// APP1 holds EXIF, and also XMP, which may come before it.
		if marker == 0xe1 && n >= len(exifHeader) {
			payload := make([]byte, n) // at most 64 KiB, by the length's size
			if _, err := io.ReadFull(br, payload); err != nil {
				return 1
			}
			if bytes.HasPrefix(payload, []byte(exifHeader)) {
				return exifOrientation(payload[len(exifHeader):])
			}
			continue
		}
		if _, err := br.Discard(n); err != nil {
			return 1
		}
	}
	return 1
}

// exifOrientation returns the orientation (tag 0x0112 of IFD0) in tiff, the
// TIFF structure of an EXIF APP1 segment after its "Exif\0\0" header: 1 to
// 8, and 1 when it is missing, out of range or anything is malformed.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	if order.Uint16(tiff[2:4]) != 42 {
		return 1
	}
	// Offsets are 32 bits; in 64 bits no sum below can overflow.
	size := uint64(len(tiff))
	ifd := uint64(order.Uint32(tiff[4:8]))
	if ifd < 8 || ifd+2 > size {
		return 1
	}
	count := uint64(order.Uint16(tiff[ifd : ifd+2]))
	for i := range count {
		entry := ifd + 2 + 12*i
		if entry+12 > size {
			return 1
		}
		e := tiff[entry : entry+12]
		if order.Uint16(e[0:2]) != tagOrientation {
			continue
		}
		if order.Uint32(e[4:8]) != 1 {
			return 1
		}
		// The value fits in the entry. SHORT is the standard type; some
		// writers use LONG.
		var v uint32
		switch order.Uint16(e[2:4]) {
		case typeShort:
			v = uint32(order.Uint16(e[8:10]))
		case typeLong:
			v = order.Uint32(e[8:12])
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return int(v)
	}
	return 1
}

// swapsSides reports whether orientation turns the picture a quarter, so
// that its width and height trade places.
func swapsSides(orientation int) bool {
	return orientation >= 5 && orientation <= 8
}

// orient returns src turned upright as orientation says, in a new image with
// its origin at (0, 0); for 1, or any value outside 1 to 8, src itself.
func orient(src *image.RGBA, orientation int) *image.RGBA {
	if orientation < 2 || orientation > 8 {
		return src
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if swapsSides(orientation) {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			// (sx, sy) is the stored pixel shown at (x, y).
			var sx, sy int
			switch orientation {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			si := src.PixOffset(b.Min.X+sx, b.Min.Y+sy)
			di := dst.PixOffset(x, y)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}
