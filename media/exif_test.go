package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"slices"
	"testing"
)

// cells returns the colours of img row by row.
func cells(img image.Image) [][]color.NRGBA {
	b := img.Bounds()
	var out [][]color.NRGBA
	for y := b.Min.Y; y < b.Max.Y; y++ {
		var row []color.NRGBA
		for x := b.Min.X; x < b.Max.X; x++ {
			row = append(row, color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA))
		}
		out = append(out, row)
	}
	return out
}

func rgba(img *image.NRGBA) *image.RGBA {
	out := image.NewRGBA(img.Bounds())
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

func TestOrient(t *testing.T) {
	stored := [][]color.NRGBA{
		{red, green},
		{blue, yellow},
		{magenta, cyan},
	}
	src := rgba(grid(1, stored...))
	// The same picture away from the origin, as a sub-image is.
	offset := rgba(grid(1, slices.Concat([][]color.NRGBA{{black, black}}, stored)...)).SubImage(image.Rect(0, 1, 2, 4)).(*image.RGBA)
	for orientation, want := range orientedCells(stored) {
		for _, in := range []*image.RGBA{src, offset} {
			got := orient(in, orientation)
			if !slices.EqualFunc(cells(got), want, slices.Equal) {
				t.Errorf("orient(%v, %d) = %v, want %v", in.Rect, orientation, cells(got), want)
			}
			if orientation > 1 && got.Rect.Min != (image.Point{}) {
				t.Errorf("orient(%v, %d) is at %v, want the origin", in.Rect, orientation, got.Rect.Min)
			}
		}
	}
	for _, orientation := range []int{-1, 0, 9, 1 << 20} {
		if got := orient(src, orientation); got != src {
			t.Errorf("orient(src, %d) is not src", orientation)
		}
	}
}

func TestExifOrientation(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	valid := exifTIFF(be, 6, true)
	// entry returns a TIFF whose IFD0 is one entry: tag, type, count, value.
	entry := func(order byteOrder, tag, typ uint16, count, value uint32) []byte {
		out := []byte("MM")
		if order == byteOrder(le) {
			out = []byte("II")
		}
		out = order.AppendUint16(out, 42)
		out = order.AppendUint32(out, 8)
		out = order.AppendUint16(out, 1)
		out = order.AppendUint16(out, tag)
		out = order.AppendUint16(out, typ)
		out = order.AppendUint32(out, count)
		if typ == typeShort {
			out = order.AppendUint16(out, uint16(value))
			out = order.AppendUint16(out, 0)
		} else {
			out = order.AppendUint32(out, value)
		}
		return order.AppendUint32(out, 0)
	}
	withIFDOffset := func(off uint32) []byte {
		out := bytes.Clone(valid)
		binary.BigEndian.PutUint32(out[4:8], off)
		return out
	}
	withCount := func(n uint16) []byte {
		out := bytes.Clone(valid)
		binary.BigEndian.PutUint16(out[8:10], n)
		return out
	}
	tests := []struct {
		name string
		tiff []byte
		want int
	}{
		{"big-endian", valid, 6},
		{"little-endian", exifTIFF(le, 3, true), 3},
		{"without GPS", exifTIFF(le, 8, false), 8},
		{"no orientation", exifTIFF(be, 0, true), 1},
		{"LONG", entry(le, tagOrientation, typeLong, 1, 5), 5},
		{"SHORT", entry(be, tagOrientation, typeShort, 1, 7), 7},
		{"0", entry(le, tagOrientation, typeShort, 1, 0), 1},
		{"9", entry(le, tagOrientation, typeShort, 1, 9), 1},
		{"65535", entry(le, tagOrientation, typeShort, 1, 65535), 1},
		{"a LONG too big for an int32", entry(be, tagOrientation, typeLong, 1, 1<<31+6), 1},
		{"ASCII", entry(le, tagOrientation, 2, 1, 6), 1},
		{"count 2", entry(le, tagOrientation, typeShort, 2, 6), 1},
		{"count 0", entry(le, tagOrientation, typeShort, 0, 6), 1},
		{"another tag", entry(le, 0x0110, typeShort, 1, 6), 1},
		{"empty", nil, 1},
		{"7 bytes", valid[:7], 1},
		{"header only", valid[:8], 1},
		{"cut in the entry", valid[:15], 1},
		{"cut after the entry", valid[:22], 6},
		{"unknown byte order", append([]byte("XX"), valid[2:]...), 1},
		{"mixed byte order", append([]byte("II"), valid[2:]...), 1},
		{"wrong magic", append([]byte("MM\x00\x2b"), valid[4:]...), 1},
		{"IFD inside the header", withIFDOffset(4), 1},
		{"IFD past the end", withIFDOffset(uint32(len(valid))), 1},
		{"IFD offset at 4 GiB", withIFDOffset(0xffffffff), 1},
		{"65535 entries", withCount(0xffff), 6},
		{"no entries", withCount(0), 1},
	}
	for _, tt := range tests {
		if got := exifOrientation(tt.tiff); got != tt.want {
			t.Errorf("exifOrientation(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestJPEGOrientation(t *testing.T) {
	jpg := encodeJPEG(t, pattern(8, 8))
	tiff := exifTIFF(binary.LittleEndian, 6, true)
	xmp := slices.Concat([]byte("http://ns.adobe.com/xap/1.0/\x00"), []byte("<x:xmpmeta/>"))
	jfif := []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"no EXIF", jpg, 1},
		{"EXIF", withExif(jpg, tiff), 6},
		{"EXIF after JFIF", withSegment(withExif(jpg, tiff), 0xe0, jfif), 6},
		{"EXIF after XMP", withSegment(withExif(jpg, tiff), 0xe1, xmp), 6},
		{"first EXIF wins", withExif(withExif(jpg, exifTIFF(binary.BigEndian, 3, false)), tiff), 6},
		{"fill bytes", slices.Concat([]byte{0xff, 0xd8, 0xff, 0xff, 0xff}, withExif(jpg, tiff)[3:]), 6},
		{"EXIF after the scan", slices.Concat(jpegHeader(8, 8), withExif(jpg, tiff)[2:]), 1},
		{"bad EXIF", withExif(jpg, []byte("II*\x00\xff\xff\xff\xff")), 1},
		{"EXIF header only", withSegment(jpg, 0xe1, []byte(exifHeader)), 1},
		{"short APP1", withSegment(jpg, 0xe1, []byte("Ex")), 1},
		{"EXIF cut short", withExif(jpg, tiff)[:30], 1},
		{"length 0", []byte{0xff, 0xd8, 0xff, 0xe1, 0, 0, 'E', 'x', 'i', 'f', 0, 0}, 1},
		{"length past the end", []byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E', 'x', 'i', 'f', 0, 0}, 1},
		{"no marker", []byte{0xff, 0xd8, 0x00, 0xe1}, 1},
		{"not a JPEG", encodePNG(t, pattern(2, 2)), 1},
		{"empty", nil, 1},
		{"SOI only", []byte{0xff, 0xd8}, 1},
		{"many segments before EXIF", slices.Concat(jpg[:2], bytes.Repeat([]byte{0xff, 0xfe, 0, 3, 'x'}, maxSegments), withExif(jpg, tiff)[2:]), 1},
	}
	for _, tt := range tests {
		if got := jpegOrientation(bytes.NewReader(tt.data)); got != tt.want {
			t.Errorf("jpegOrientation(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func FuzzOrientation(f *testing.F) {
	jpg := encodeJPEG(f, pattern(4, 3))
	for o := uint16(0); o <= 9; o++ {
		for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
			f.Add(withExif(jpg, exifTIFF(order, o, o%2 == 0)))
			f.Add(exifTIFF(order, o, o%2 == 1))
		}
	}
	f.Add(jpegHeader(8, 8))
	src := rgba(pattern(3, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, o := range map[string]int{
			"jpegOrientation": jpegOrientation(bytes.NewReader(data)),
			"exifOrientation": exifOrientation(data),
		} {
			if o < 1 || o > 8 {
				t.Fatalf("%s = %d, want 1 to 8", name, o)
			}
			got := orient(src, o)
			w, h := 3, 2
			if swapsSides(o) {
				w, h = h, w
			}
			if got.Rect.Dx() != w || got.Rect.Dy() != h {
				t.Errorf("orient(3x2, %d) is %dx%d, want %dx%d", o, got.Rect.Dx(), got.Rect.Dy(), w, h)
			}
		}
	})
}
