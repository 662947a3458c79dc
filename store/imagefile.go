package store

import (
	"fmt"
	"strings"
)

// The layout of image files, in one place. Relative to the root of the
// images (the Storage), every file of an image is
//
//	YYYY/MM/DD/NAME.EXT      the full image
//	YYYY/MM/DD/NAME.th.EXT   its thumbnail
//	YYYY/MM/DD/NAME.md.EXT   its medium size
//
// where YYYY/MM/DD is the upload date in Options.Location, NAME a stored
// name (what CleanFileName makes, possibly with the 16 hex characters of
// "mixed" naming appended) and EXT one of imageTypes. Nothing else is ever
// stored, served, or removed as an image file.

// imageTypes maps the extensions of stored files, chosen by sniffing the
// content at upload (BMP is stored as PNG), to the Content-Type they are
// served with.
var imageTypes = map[string]string{
	"jpg":  "image/jpeg",
	"png":  "image/png",
	"gif":  "image/gif",
	"webp": "image/webp",
}

// mixedSuffixBytes is the length of the random hex that "mixed" naming
// appends to a name (mixedName), so a stored name is at most
// MaxNameBytes + mixedSuffixBytes long.
const mixedSuffixBytes = 16

// ImageFile is the relative path of one image file, taken apart.
type ImageFile struct {
	Dir     string  // "2026/11/27"
	Name    string  // the stored name, without variant suffix and extension
	Variant Variant // Full, Thumb or Medium
	Ext     string  // "jpg", "png", "gif" or "webp"
}

// errNotImageFile is ParseImageFile's answer to anything else. It is one
// value, not made per call: the image server asks for every request.
var errNotImageFile = fmt.Errorf("%w: not the path of an image file (YYYY/MM/DD/NAME[.th|.md].EXT)", ErrInvalid)

// ParseImageFile checks that rel has the exact shape of an image file,
// "YYYY/MM/DD/NAME.EXT" with an optional ".th" or ".md" before the
// extension, a real month and day, a stored name and a stored extension,
// and takes it apart. Such a path is clean and local: it cannot name
// anything outside the root of the images, nor any other file of the data
// dir. Anything else is an error wrapping ErrInvalid.
func ParseImageFile(rel string) (ImageFile, error) {
	if len(rel) < len("YYYY/MM/DD/n.png") || !validDir(rel[:10]) || rel[10] != '/' {
		return ImageFile{}, errNotImageFile
	}
	base := rel[11:]
	dot := strings.LastIndexByte(base, '.')
	if dot < 0 {
		return ImageFile{}, errNotImageFile
	}
	f := ImageFile{Dir: rel[:10], Name: base[:dot], Ext: base[dot+1:]}
	if _, ok := imageTypes[f.Ext]; !ok {
		return ImageFile{}, errNotImageFile
	}
	for _, v := range []Variant{Thumb, Medium} {
		if stem, ok := strings.CutSuffix(f.Name, v.suffix()); ok {
			f.Name, f.Variant = stem, v
			break
		}
	}
	if !validName(f.Name) {
		return ImageFile{}, errNotImageFile
	}
	return f, nil
}

// String returns the relative path of f: "2026/11/27/name.th.jpg".
func (f ImageFile) String() string {
	return f.Dir + "/" + f.Name + f.Variant.suffix() + "." + f.Ext
}

// ContentType returns the Content-Type of f's extension ("" for an
// ImageFile that ParseImageFile did not make).
func (f ImageFile) ContentType() string { return imageTypes[f.Ext] }

// validDir accepts "YYYY/MM/DD" with four, two and two digits, a month
// 01-12 and a day 01-31: what time.Format("2006/01/02") writes.
func validDir(d string) bool {
	if len(d) != 10 || d[4] != '/' || d[7] != '/' {
		return false
	}
	for i := range len(d) {
		if i != 4 && i != 7 && (d[i] < '0' || d[i] > '9') {
			return false
		}
	}
	month := int(d[5]-'0')*10 + int(d[6]-'0')
	day := int(d[8]-'0')*10 + int(d[9]-'0')
	return month >= 1 && month <= 12 && day >= 1 && day <= 31
}

// validName accepts a name a stored image can have: what validStoredName
// accepts, also with the mixedSuffixBytes of "mixed" naming appended,
// which may take it past MaxNameBytes.
func validName(name string) bool {
	if name == "" || len(name) > MaxNameBytes+mixedSuffixBytes || stripNameEnds(name) != name {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return false
		}
	}
	return true
}

// validExt reports whether ext is the extension of a stored image file.
func validExt(ext string) bool {
	_, ok := imageTypes[ext]
	return ok
}

// checkImagePaths reports the first field of img that would not make the
// paths of its files image file paths (the folder, the name, the extension)
// as an error that is ErrCorrupt. Every record is checked when it is read
// (decodeImage), so a damaged or crafted database can never make the store
// open, list or remove anything but image files.
func checkImagePaths(img Image) error {
	switch {
	case !validDir(img.Dir):
		return damagef("image %d: folder %q is not YYYY/MM/DD", img.ID, img.Dir)
	case !validName(img.Name):
		return damagef("image %d: name %q is not a stored file name", img.ID, img.Name)
	case !validExt(img.Ext):
		return damagef("image %d: extension %q is not one of jpg, png, gif, webp", img.ID, img.Ext)
	}
	return nil
}
