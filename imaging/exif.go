package imaging

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	exif "github.com/dsoprea/go-exif/v3"
)

// EXIF limits.
const (
	// maxIFDEntries bounds the IFD0 entries read for orientation and title; real files
	// have a few dozen, the field allows 65535.
	maxIFDEntries = 1024
	// maxTitleBytes bounds the ImageDescription kept as a title; Chevereto cuts titles to
	// 100 characters, the margin leaves room for bytes removed by cleaning.
	maxTitleBytes = 1024
	// maxEXIFValueBytes bounds each value in EXIFJSON: long UserComment or vendor blobs would
	// otherwise bloat every API response of the image.
	maxEXIFValueBytes = 1024
)

// TIFF tags read from IFD0.
const (
	tagImageDescription = 0x010E
	tagOrientation      = 0x0112
	tiffTypeASCII       = 2
	tiffTypeShort       = 3
)

// ifd0Tags is what this package reads itself from the first IFD of an EXIF payload.
type ifd0Tags struct {
	orientation int    // 1..8, 1 if absent or invalid
	description string // raw ImageDescription, "" if absent
}

// readIFD0 reads Orientation and ImageDescription from a TIFF-structured EXIF payload. It
// never fails: damaged EXIF yields the defaults, because metadata must not make a
// decodable image unusable.
func readIFD0(tiff []byte) ifd0Tags {
	t := ifd0Tags{orientation: 1}
	if len(tiff) < 8 {
		return t
	}
	bo, ok := tiffByteOrder(tiff)
	if !ok {
		return t
	}
	if bo.Uint16(tiff[2:4]) != 42 {
		return t
	}
	ifd := int64(bo.Uint32(tiff[4:8]))
	if ifd < 8 || ifd+2 > int64(len(tiff)) {
		return t
	}
	n := int(bo.Uint16(tiff[ifd:]))
	if n > maxIFDEntries {
		n = maxIFDEntries
	}
	for i := 0; i < n; i++ {
		e := ifd + 2 + int64(i)*12
		if e+12 > int64(len(tiff)) {
			break
		}
		entry := tiff[e : e+12]
		tag, typ, count := bo.Uint16(entry[0:2]), bo.Uint16(entry[2:4]), int64(bo.Uint32(entry[4:8]))
		switch {
		case tag == tagOrientation && typ == tiffTypeShort && count >= 1:
			if o := int(bo.Uint16(entry[8:10])); o >= 1 && o <= 8 {
				t.orientation = o
			}
		case tag == tagImageDescription && typ == tiffTypeASCII && count >= 1:
			var val []byte
			if count <= 4 {
				val = entry[8 : 8+count]
			} else {
				off := int64(bo.Uint32(entry[8:12]))
				if off < 0 || off >= int64(len(tiff)) {
					continue
				}
				end := min(off+count, int64(len(tiff)), off+maxTitleBytes)
				val = tiff[off:end]
			}
			if i := strings.IndexByte(string(val), 0); i >= 0 {
				val = val[:i]
			}
			t.description = string(val)
		}
	}
	return t
}

// cleanTitle removes control characters and every non-ASCII byte, then trims spaces, as
// Chevereto does with a title taken from EXIF.
func cleanTitle(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c < 0x7F {
			b = append(b, c)
		}
	}
	return strings.TrimSpace(string(b))
}

// exifJSON returns the tags of a TIFF-structured EXIF payload as a JSON object of tag
// name -> value text. MakerNote is dropped (vendor binary, often huge), values are cut
// to maxEXIFValueBytes and forced to valid UTF-8. When a name occurs in several IFDs
// (IFD1 repeats resolution tags for the embedded thumbnail), the first one wins.
func exifJSON(tiff []byte) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = "", fmt.Errorf("imaging: exif reader panic: %v", r)
		}
	}()
	if err := checkTIFF(tiff); err != nil {
		return "", err
	}
	tags, _, err := exif.GetFlatExifData(tiff, nil)
	if err != nil && len(tags) == 0 {
		return "", fmt.Errorf("imaging: read exif: %w", err)
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		if t.TagName == "MakerNote" || t.TagName == "" {
			continue
		}
		if _, dup := m[t.TagName]; dup {
			continue
		}
		v := t.Formatted
		if len(v) > maxEXIFValueBytes {
			v = v[:maxEXIFValueBytes]
		}
		v = strings.ToValidUTF8(v, "")
		v = strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' && r != '\n' || r == utf8.RuneError {
				return -1
			}
			return r
		}, v)
		m[strings.ToValidUTF8(t.TagName, "")] = v
	}
	if len(m) == 0 {
		return "", nil
	}
	out, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("imaging: encode exif json: %w", err)
	}
	return string(out), nil
}

// tiffTypeSize returns the byte size of a TIFF field type, 0 for an unknown type.
func tiffTypeSize(typ uint16) uint64 {
	switch typ {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11: // LONG, SLONG, FLOAT
		return 4
	case 5, 10, 12: // RATIONAL, SRATIONAL, DOUBLE
		return 8
	}
	return 0
}

// Sub-IFD pointer tags followed by checkTIFF: Exif, GPS and Interoperability.
const (
	tagExifIFD    = 0x8769
	tagGPSIFD     = 0x8825
	tagInteropIFD = 0xA005
)

// maxIFDs bounds the IFDs checkTIFF visits; a real file has five or six.
const maxIFDs = 32

// checkTIFF verifies that every IFD entry of an EXIF payload lies inside it and that the
// IFDs form no cycle, before go-exif reads it: go-exif allocates count*size bytes for a
// value before checking that the payload holds them, so a 64 KB segment could claim a
// 4 GB tag.
func checkTIFF(tiff []byte) error {
	bad := func(what string) error { return fmt.Errorf("imaging: exif: %s", what) }
	if len(tiff) < 8 {
		return bad("short header")
	}
	bo, ok := tiffByteOrder(tiff)
	if !ok {
		return bad("bad byte order")
	}
	size := uint64(len(tiff))
	visited := map[uint32]bool{}
	queue := []uint32{bo.Uint32(tiff[4:8])}
	for len(queue) > 0 {
		off := queue[0]
		queue = queue[1:]
		if off == 0 {
			continue
		}
		if visited[off] || len(visited) >= maxIFDs {
			return bad("IFD loop or too many IFDs")
		}
		visited[off] = true
		if uint64(off)+2 > size {
			return bad("IFD outside the payload")
		}
		n := uint64(bo.Uint16(tiff[off:]))
		if n > maxIFDEntries || uint64(off)+2+12*n+4 > size {
			return bad("IFD entries outside the payload")
		}
		for i := uint64(0); i < n; i++ {
			e := tiff[uint64(off)+2+12*i:]
			tag, typ, count := bo.Uint16(e[0:2]), bo.Uint16(e[2:4]), uint64(bo.Uint32(e[4:8]))
			unit := tiffTypeSize(typ)
			if unit == 0 {
				return bad("unknown field type")
			}
			length := count * unit
			if length > 4 && uint64(bo.Uint32(e[8:12]))+length > size {
				return bad("value outside the payload")
			}
			switch tag {
			case tagExifIFD, tagGPSIFD, tagInteropIFD:
				queue = append(queue, bo.Uint32(e[8:12]))
			}
		}
		queue = append(queue, bo.Uint32(tiff[uint64(off)+2+12*n:]))
	}
	return nil
}

// tiffByteOrder reads the byte order mark ("II" or "MM") that starts a TIFF structure
// of at least 2 bytes.
func tiffByteOrder(tiff []byte) (binary.ByteOrder, bool) {
	switch string(tiff[:2]) {
	case "II":
		return binary.LittleEndian, true
	case "MM":
		return binary.BigEndian, true
	}
	return nil, false
}
