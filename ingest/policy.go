package ingest

import (
	"fmt"
	"time"

	"picbed/imaging"
)

// Duplicates says what an upload of bytes its owner already has does.
type Duplicates int

// The duplicates policies.
const (
	// DuplicatesReuse answers with the stored image (a retried upload is
	// harmless). The zero value.
	DuplicatesReuse Duplicates = iota
	// DuplicatesReject refuses the upload with ErrDuplicate.
	DuplicatesReject
	// DuplicatesAllow stores another copy.
	DuplicatesAllow
)

var duplicatesNames = [...]string{DuplicatesReuse: "reuse", DuplicatesReject: "reject", DuplicatesAllow: "allow"}

// String returns "reuse", "reject" or "allow": the words of the flag, the
// settings page and the saved settings.
func (d Duplicates) String() string {
	if d < 0 || int(d) >= len(duplicatesNames) {
		return fmt.Sprintf("Duplicates(%d)", int(d))
	}
	return duplicatesNames[d]
}

// ParseDuplicates reads "reuse", "reject" or "allow".
func ParseDuplicates(s string) (Duplicates, error) {
	for d, name := range duplicatesNames {
		if s == name {
			return Duplicates(d), nil
		}
	}
	return 0, fmt.Errorf("duplicates %q: want reuse, reject or allow", s)
}

// Policies are the site's upload rules at the moment of one upload: a door
// reads the current settings and copies them into each Request, so that an
// admin's change applies to the next upload and never to half of one.
type Policies struct {
	// MaxUpload is the largest accepted source in bytes (> 0).
	MaxUpload int64
	// MaxPixels is the largest accepted width*height, checked from the
	// header before any decode; 0 means imaging.DefaultMaxPixels.
	MaxPixels int
	// EXIF says whether metadata is stripped or kept.
	EXIF imaging.EXIFPolicy
	// Duplicates says what an upload of bytes the owner has does.
	Duplicates Duplicates
	// URLUploads lets a Source download a URL.
	URLUploads bool
	// DefaultExpiry is the auto-delete of uploads that ask for none (and
	// did not opt out with Request.NoExpiry); 0 means none.
	DefaultExpiry time.Duration
}

// EXIF says what happens to the metadata of a stored image: imaging's
// policy, named here so that doors speak only to ingest.
type EXIF = imaging.EXIFPolicy

// The EXIF policies.
const (
	StripEXIF = imaging.StripEXIF // metadata removed losslessly, orientation kept (the default)
	KeepEXIF  = imaging.KeepEXIF  // the file stored untouched, its EXIF reported
)

// ParseEXIF reads "strip" or "keep", the words of EXIF's String.
func ParseEXIF(s string) (EXIF, error) { return imaging.ParseEXIFPolicy(s) }

// DefaultMaxPixels is the pixel budget when Policies.MaxPixels is 0.
const DefaultMaxPixels = imaging.DefaultMaxPixels
