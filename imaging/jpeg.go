package imaging

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxJPEGMarkers bounds the markers walked in one JPEG. Real files have a few dozen (a
// progressive JPEG has about ten scans with their tables); the bound keeps a file made of
// millions of empty segments from growing the piece list without limit.
const maxJPEGMarkers = 1 << 16

// maxJPEGScans bounds the scans of one JPEG. image/jpeg reprocesses the whole coefficient
// buffer for every scan, so a file of tiny scans over a large frame is a CPU bomb; encoders
// write one scan (baseline) or about ten (progressive), and libjpeg-turbo's tools offer the
// same kind of limit (-maxscans).
const maxJPEGScans = 256

// JPEG markers this package looks at.
const (
	markerSOI   = 0xD8
	markerEOI   = 0xD9
	markerSOS   = 0xDA
	markerTEM   = 0x01
	markerRST0  = 0xD0
	markerRST7  = 0xD7
	markerAPP0  = 0xE0
	markerAPP1  = 0xE1
	markerAPP2  = 0xE2
	markerAPP14 = 0xEE
	markerAPP15 = 0xEF
	markerCOM   = 0xFE
)

// Identifiers at the start of the APPn segments this package reads or keeps.
const (
	exifPrefix  = "Exif\x00\x00"
	jfifPrefix  = "JFIF\x00"
	iccPrefix   = "ICC_PROFILE\x00"
	adobePrefix = "Adobe"
)

// piece is part of an output file: a byte range of the source, or literal bytes.
type piece struct {
	off, end int64
	lit      []byte
}

// jpegLayout is what a marker walk learns about a JPEG.
type jpegLayout struct {
	// exif is the TIFF payload of the first APP1 Exif segment, nil if none.
	exif []byte
	// keep lists, in order, the byte ranges that survive metadata stripping: SOI, APP0 JFIF,
	// APP2 ICC, APP14 Adobe, tables, frame and scans, up to and including EOI. Data after
	// EOI (trailers, appended archives, secondary images with their own EXIF) is dropped.
	keep []piece
	// scans counts SOS markers (full walks only).
	scans int
	// afterJFIF is the index in keep before which a new APP1 segment goes: after SOI and a
	// leading APP0 JFIF, where readers expect Exif.
	afterJFIF int
}

// countingReader is a bufio.Reader that knows its offset in the source.
type countingReader struct {
	br  *bufio.Reader
	off int64
}

func (c *countingReader) readByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.off++
	}
	return b, err
}

func (c *countingReader) readFull(p []byte) error {
	n, err := io.ReadFull(c.br, p)
	c.off += int64(n)
	return err
}

func (c *countingReader) discard(n int) error {
	d, err := c.br.Discard(n)
	c.off += int64(d)
	return err
}

// walkJPEG walks the markers of a JPEG. With full false it stops at the first SOS (enough
// for the header: APPn and SOF); with full true it walks the scans to EOI and fills keep.
func walkJPEG(src io.ReaderAt, size int64, full bool) (*jpegLayout, error) {
	cr := &countingReader{br: bufio.NewReaderSize(io.NewSectionReader(src, 0, size), 64<<10)}
	var soi [2]byte
	if err := cr.readFull(soi[:]); err != nil || soi[0] != 0xFF || soi[1] != markerSOI {
		return nil, fmt.Errorf("%w: jpeg: missing SOI", ErrInvalid)
	}
	l := &jpegLayout{}
	keep := func(off, end int64) {
		if n := len(l.keep); n > 0 && l.keep[n-1].lit == nil && l.keep[n-1].end == off {
			l.keep[n-1].end = end
			return
		}
		l.keep = append(l.keep, piece{off: off, end: end})
	}
	keep(0, 2)
	// An empty literal keeps SOI a piece of its own, so an Exif segment can follow it.
	l.keep = append(l.keep, piece{lit: []byte{}})
	l.afterJFIF = 1
	pending := -1 // a marker found while scanning entropy-coded data
	for markers := 0; ; markers++ {
		if markers > maxJPEGMarkers {
			return nil, fmt.Errorf("%w: jpeg: too many markers", ErrInvalid)
		}
		var m byte
		var start int64
		if pending >= 0 {
			m, start = byte(pending), cr.off-2
			pending = -1
		} else {
			b, err := cr.readByte()
			if err != nil {
				return nil, truncated("jpeg", err)
			}
			for b != 0xFF {
				// Extraneous bytes between segments: decoders skip them (libjpeg warns, Go's
				// image/jpeg is silent), so the walk skips and drops them too.
				if b, err = cr.readByte(); err != nil {
					return nil, truncated("jpeg", err)
				}
			}
			for b == 0xFF { // fill bytes may precede a marker
				if b, err = cr.readByte(); err != nil {
					return nil, truncated("jpeg", err)
				}
			}
			m = b
			start = cr.off - 2
		}
		switch {
		case m == markerEOI:
			keep(start, cr.off)
			return l, nil
		case m == markerTEM || (m >= markerRST0 && m <= markerRST7):
			keep(start, cr.off)
			continue
		case m == 0x00 || m == markerSOI:
			return nil, fmt.Errorf("%w: jpeg: unexpected marker %#x", ErrInvalid, m)
		}
		var lenBuf [2]byte
		if err := cr.readFull(lenBuf[:]); err != nil {
			return nil, truncated("jpeg", err)
		}
		n := int(lenBuf[0])<<8 | int(lenBuf[1])
		if n < 2 {
			return nil, fmt.Errorf("%w: jpeg: bad segment length", ErrInvalid)
		}
		payloadLen := n - 2
		isAPP := m >= markerAPP0 && m <= markerAPP15
		if isAPP || m == markerCOM {
			// Peek at the identifier; metadata segments are at most 64 KB.
			payload := make([]byte, payloadLen)
			if err := cr.readFull(payload); err != nil {
				return nil, truncated("jpeg", err)
			}
			if m == markerAPP1 && l.exif == nil && strings.HasPrefix(string(payload), exifPrefix[:5]) && len(payload) >= 6 {
				l.exif = payload[6:]
			}
			kept := (m == markerAPP0 && strings.HasPrefix(string(payload), jfifPrefix)) ||
				(m == markerAPP2 && strings.HasPrefix(string(payload), iccPrefix)) ||
				(m == markerAPP14 && strings.HasPrefix(string(payload), adobePrefix))
			if kept {
				keep(start, cr.off)
				if m == markerAPP0 && start == 2 {
					l.afterJFIF = len(l.keep)
					// Force the next kept range into a new piece, so the Exif segment can go
					// between them.
					l.keep = append(l.keep, piece{lit: []byte{}})
				}
			}
			continue
		}
		if m == markerSOS && !full {
			return l, nil
		}
		if err := cr.discard(payloadLen); err != nil {
			return nil, truncated("jpeg", err)
		}
		keep(start, cr.off)
		if m != markerSOS {
			continue
		}
		if l.scans++; l.scans > maxJPEGScans {
			return nil, fmt.Errorf("%w: jpeg: more than %d scans", ErrInvalid, maxJPEGScans)
		}
		// Entropy-coded data runs until a 0xFF followed by a byte that is neither a stuffed
		// zero, a restart marker nor another 0xFF.
		dataStart := cr.off
		for pending < 0 {
			chunk, err := cr.br.ReadSlice(0xFF)
			cr.off += int64(len(chunk))
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				return nil, truncated("jpeg", err)
			}
			for {
				b, err := cr.readByte()
				if err != nil {
					return nil, truncated("jpeg", err)
				}
				if b == 0xFF {
					continue
				}
				if b != 0x00 && (b < markerRST0 || b > markerRST7) {
					pending = int(b)
				}
				break
			}
		}
		keep(dataStart, cr.off-2)
	}
}

// truncated turns a read error during a header walk into ErrInvalid.
func truncated(format string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: truncated", ErrInvalid, format)
	}
	return fmt.Errorf("imaging: %s: %w", format, err)
}

// orientationSegment returns a complete APP1 Exif segment holding only the Orientation tag,
// so that viewers still show a stripped photo upright.
func orientationSegment(o int) []byte {
	tiff := []byte{
		'M', 'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF header, IFD0 at offset 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, // Orientation, SHORT, count 1, value
		0, 0, 0, 0, // no next IFD
	}
	n := 2 + len(exifPrefix) + len(tiff)
	seg := []byte{0xFF, markerAPP1, byte(n >> 8), byte(n)}
	seg = append(seg, exifPrefix...)
	return append(seg, tiff...)
}

// writeStrippedJPEG writes src without metadata segments, adding an orientation-only Exif
// segment when the orientation is not 1. The compressed data is copied unchanged.
func writeStrippedJPEG(w io.Writer, src io.ReaderAt, l *jpegLayout, orientation int) error {
	pieces := l.keep
	if orientation > 1 {
		pieces = make([]piece, 0, len(l.keep)+1)
		pieces = append(pieces, l.keep[:l.afterJFIF]...)
		pieces = append(pieces, piece{lit: orientationSegment(orientation)})
		pieces = append(pieces, l.keep[l.afterJFIF:]...)
	}
	return writePieces(w, src, pieces)
}

// writePieces writes source ranges and literal bytes in order.
func writePieces(w io.Writer, src io.ReaderAt, pieces []piece) error {
	for _, p := range pieces {
		if p.lit != nil {
			if _, err := w.Write(p.lit); err != nil {
				return err
			}
			continue
		}
		if _, err := io.Copy(w, io.NewSectionReader(src, p.off, p.end-p.off)); err != nil {
			return err
		}
	}
	return nil
}
