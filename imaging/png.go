package imaging

import (
	"encoding/binary"
	"fmt"
	"io"
)

// pngSignature starts every PNG file.
const pngSignature = "\x89PNG\r\n\x1a\n"

// maxPNGChunks bounds the chunks walked in one PNG. A large APNG has a few thousand
// (one fcTL and some fdAT per frame) and a big image split into 8 KB IDATs some
// thousands more; a million is far beyond any real file and keeps a hostile one cheap.
const maxPNGChunks = 1 << 20

// pngLayout is what a chunk walk learns about a PNG.
type pngLayout struct {
	animated bool    // acTL before the first IDAT
	keep     []piece // chunks that survive stripping, up to and including IEND
}

// pngMetadataChunk reports chunks removed under StripEXIF: EXIF, text (which carries XMP
// and camera or editor details) and the modification time.
func pngMetadataChunk(typ string) bool {
	switch typ {
	case "eXIf", "tEXt", "zTXt", "iTXt", "tIME":
		return true
	}
	return false
}

// walkPNG walks the chunks of a PNG reading only their 8-byte headers. With full false it
// stops at the first IDAT; with full true it continues to IEND and fills keep.
func walkPNG(src io.ReaderAt, size int64, full bool) (*pngLayout, error) {
	l := &pngLayout{keep: []piece{{off: 0, end: 8}}}
	off := int64(len(pngSignature))
	var hdr [8]byte
	seenIDAT := false
	for chunks := 0; ; chunks++ {
		if chunks > maxPNGChunks {
			return nil, fmt.Errorf("%w: png: too many chunks", ErrInvalid)
		}
		if off+12 > size {
			return nil, fmt.Errorf("%w: png: truncated", ErrInvalid)
		}
		if _, err := src.ReadAt(hdr[:], off); err != nil {
			return nil, truncated("png", err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[0:4]))
		typ := string(hdr[4:8])
		end := off + 12 + n
		if n > 1<<31-1 || end > size {
			return nil, fmt.Errorf("%w: png: truncated %s chunk", ErrInvalid, typ)
		}
		switch typ {
		case "acTL":
			l.animated = l.animated || !seenIDAT
		case "IDAT":
			seenIDAT = true
			if !full {
				return l, nil
			}
		}
		if !pngMetadataChunk(typ) {
			if last := &l.keep[len(l.keep)-1]; last.end == off {
				last.end = end
			} else {
				l.keep = append(l.keep, piece{off: off, end: end})
			}
		}
		if typ == "IEND" {
			return l, nil
		}
		off = end
	}
}
