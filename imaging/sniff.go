package imaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/h2non/filetype"
	"github.com/h2non/filetype/matchers"
)

// sniffBytes is how much of the head of a file sniffing looks at. 512 bytes is what
// net/http's content sniffing uses and covers every magic number and ISO BMFF ftyp box
// this package checks.
const sniffBytes = 512

// readHead returns up to sniffBytes bytes from the start of r.
func readHead(r io.ReaderAt, size int64) ([]byte, error) {
	n := int64(sniffBytes)
	if size < n {
		n = size
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("imaging: read header: %w", err)
	}
	return buf, nil
}

// sniff decides the format from the head of a file. It returns ErrUnsupported for image
// formats picbed refuses and ErrNotImage for everything else it cannot read.
func sniff(head []byte) (Format, error) {
	switch {
	case len(head) == 0:
		return "", fmt.Errorf("%w: empty input", ErrNotImage)
	case matchers.Jpeg(head):
		return JPEG, nil
	case bytes.HasPrefix(head, []byte(pngSignature)):
		return PNG, nil
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF, nil
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return WebP, nil
	case isBMP(head):
		return BMP, nil
	}
	if name := unsupportedImage(head); name != "" {
		return "", fmt.Errorf("%w: %s", ErrUnsupported, name)
	}
	return "", ErrNotImage
}

// isBMP accepts "BM" only with a plausible DIB header size, because two bytes alone would
// make every text starting with "BM" an "invalid image" instead of "not an image".
func isBMP(head []byte) bool {
	if len(head) < 18 || head[0] != 'B' || head[1] != 'M' {
		return false
	}
	switch binary.LittleEndian.Uint32(head[14:18]) {
	case 12, 16, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// unsupportedImage names a recognised image format picbed refuses, or returns "".
func unsupportedImage(head []byte) string {
	if name := isoBMFFImage(head); name != "" {
		return name
	}
	if kind, err := filetype.Image(head); err == nil && kind != filetype.Unknown {
		switch kind.MIME.Value {
		case "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp":
			// An accepted format whose stricter checks in sniff failed: filetype
			// matches on 2-4 bytes ("BM" text, a cut-off "\x89PNG"). Not a
			// refused format, just not an image.
		default:
			return kind.MIME.Value
		}
	}
	magics := []struct {
		prefix string
		name   string
	}{
		{"\xff\x0a", "image/jxl"},                             // JPEG XL codestream
		{"\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a", "image/jxl"}, // JPEG XL container
		{"\xff\x4f\xff\x51", "image/j2k"},                     // JPEG 2000 codestream
		{"\x00\x00\x02\x00", "image/x-icon"},                  // Windows cursor (ICO family)
		{"qoif", "image/qoi"},
		{"\x76\x2f\x31\x01", "image/x-exr"},
		{"DDS ", "image/vnd.ms-dds"},
		{"gimp xcf", "image/x-xcf"},
		{"8BPS", "image/vnd.adobe.photoshop"},
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.name
		}
	}
	return ""
}

// isoBMFFImage recognises HEIF-family files (HEIC, AVIF and their sequences) by the brands
// of their leading ftyp box.
func isoBMFFImage(head []byte) string {
	if len(head) < 16 || string(head[4:8]) != "ftyp" {
		return ""
	}
	boxLen := int(binary.BigEndian.Uint32(head[0:4]))
	if boxLen < 16 || boxLen > len(head) {
		boxLen = len(head)
	}
	brands := []string{string(head[8:12])}
	for i := 16; i+4 <= boxLen; i += 4 {
		brands = append(brands, string(head[i:i+4]))
	}
	for _, b := range brands {
		switch b {
		case "avif", "avis":
			return "image/avif"
		}
	}
	for _, b := range brands {
		switch b {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return "image/heif"
		}
	}
	return ""
}
