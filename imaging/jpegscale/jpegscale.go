// Package jpegscale is a JPEG decoder (ITU T.81) that decodes directly at 1/1, 1/2, 1/4 or
// 1/8 scale by running reduced inverse DCTs on the low-frequency coefficients of each block,
// so a thumbnail of a large photo never materialises the full-size image.
//
// Supported: baseline and extended sequential Huffman and progressive 8-bit frames, one
// (gray), three (YCbCr with any subsampling image.YCbCr can express, or RGB) or four
// (Adobe CMYK or YCCK) components, restart intervals and table redefinitions. Output is
// *image.Gray, *image.YCbCr, *image.RGBA or *image.CMYK, as image/jpeg returns. Other
// variants (arithmetic coding, 12-bit, lossless, hierarchical) return an error wrapping
// ErrUnsupported.
package jpegscale

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
)

// ErrUnsupported is wrapped by errors for valid JPEG features this package does not decode.
var ErrUnsupported = errors.New("jpegscale: unsupported JPEG")

// ErrTooLarge is returned when the frame has more pixels than the caller's budget.
var ErrTooLarge = errors.New("jpegscale: image exceeds pixel budget")

// FormatError reports malformed JPEG data.
type FormatError string

func (e FormatError) Error() string { return "jpegscale: invalid JPEG: " + string(e) }

func formatError(s string) error { return FormatError(s) }

func unsupported(s string) error { return fmt.Errorf("%w: %s", ErrUnsupported, s) }

// debugPanics, set by tests, lets internal panics through instead of turning them into
// errors, so that a bug is not mistaken for malformed input.
var debugPanics = false

// Decode decodes a JPEG at full scale.
func Decode(r io.Reader) (image.Image, error) {
	img, _, err := decode(r, -1, -1, 0)
	return img, err
}

// DecodeScaled decodes r at the largest reduction 1/2^k (k <= 3) whose output is still at
// least minW x minH (the caller then resizes), and returns the image and 2^k. maxPixels
// bounds the frame's width*height, checked from the frame header before any pixel memory is
// allocated; maxPixels <= 0 means no bound.
func DecodeScaled(r io.Reader, minW, minH int, maxPixels int) (image.Image, int, error) {
	return decode(r, max(minW, 0), max(minH, 0), maxPixels)
}

// chooseShift returns the largest k <= 3 with ceil(w/2^k) >= minW and ceil(h/2^k) >= minH;
// minW < 0 asks for full scale.
func chooseShift(w, h, minW, minH int) uint {
	if minW < 0 {
		return 0
	}
	k := uint(3)
	for k > 0 && ((w+(1<<k)-1)>>k < minW || (h+(1<<k)-1)>>k < minH) {
		k--
	}
	return k
}

func decode(r io.Reader, minW, minH, maxPixels int) (image.Image, int, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, 0, err
	}
	d, img, err := decodeBytes(data, minW, minH, maxPixels)
	if err != nil {
		return nil, 0, err
	}
	return img, 1 << d.shift, nil
}

// decodeBytes decodes data; it returns the decoder so tests can inspect its accounting.
func decodeBytes(data []byte, minW, minH, maxPixels int) (d *decoder, img image.Image, err error) {
	d = &decoder{minW: minW, minH: minH, maxPixels: maxPixels}
	d.br.data = data
	if !debugPanics {
		defer func() {
			if p := recover(); p != nil {
				img, err = nil, fmt.Errorf("jpegscale: internal error: %v", p)
			}
		}()
	}
	img, err = d.decode()
	if err != nil {
		img = nil
	}
	return d, img, err
}

// readAll reads r whole, in one allocation when r knows its remaining length (bytes.Reader,
// strings.Reader, bytes.Buffer), its size (io.SectionReader) or is a file.
func readAll(r io.Reader) ([]byte, error) {
	size := -1
	switch v := r.(type) {
	case interface{ Len() int }:
		size = v.Len()
	case interface{ Size() int64 }: // io.SectionReader: its size, a hint when part-read
		if n := v.Size(); n >= 0 && n < 1<<31 {
			size = int(n)
		}
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() < 1<<31 {
			size = int(fi.Size())
		}
	}
	if size < 0 {
		return io.ReadAll(r)
	}
	var buf bytes.Buffer
	buf.Grow(size + bytes.MinRead)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
