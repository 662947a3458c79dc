package imaging

import (
	"bufio"
	"fmt"
	"io"
)

// maxGIFBlocks bounds the extension and image blocks walked while counting frames; only
// two frames are needed, so this only limits files padded with endless extensions.
const maxGIFBlocks = 1 << 16

// gifFrames counts the image descriptors of a GIF, stopping at limit. A file truncated
// after its first frame still counts what it has: the decoder only needs that frame.
func gifFrames(src io.ReaderAt, size int64, limit int) (int, error) {
	br := bufio.NewReader(io.NewSectionReader(src, 0, size))
	var hdr [13]byte // signature and logical screen descriptor
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, truncated("gif", err)
	}
	if hdr[10]&0x80 != 0 { // global color table
		if _, err := br.Discard(3 << (hdr[10]&7 + 1)); err != nil {
			return 0, truncated("gif", err)
		}
	}
	frames := 0
	for blocks := 0; blocks < maxGIFBlocks && frames < limit; blocks++ {
		intro, err := br.ReadByte()
		if err != nil {
			return frames, nil
		}
		switch intro {
		case 0x21: // extension: label, then sub-blocks
			if _, err := br.ReadByte(); err != nil {
				return frames, nil
			}
		case 0x2C: // image descriptor, optional local color table, LZW code size
			var d [9]byte
			if _, err := io.ReadFull(br, d[:]); err != nil {
				return frames, nil
			}
			if d[8]&0x80 != 0 {
				if _, err := br.Discard(3 << (d[8]&7 + 1)); err != nil {
					return frames, nil
				}
			}
			if _, err := br.ReadByte(); err != nil {
				return frames, nil
			}
			frames++
		case 0x3B: // trailer
			return frames, nil
		default:
			if frames == 0 {
				return 0, fmt.Errorf("%w: gif: unknown block %#x", ErrInvalid, intro)
			}
			return frames, nil
		}
		if err := skipSubBlocks(br); err != nil {
			return frames, nil
		}
	}
	return frames, nil
}

// skipSubBlocks skips a chain of GIF data sub-blocks up to its zero terminator.
func skipSubBlocks(br *bufio.Reader) error {
	for {
		n, err := br.ReadByte()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := br.Discard(int(n)); err != nil {
			return err
		}
	}
}
