package store

import (
	"io/fs"
	"time"
)

// Storage is where the bytes of image files live: the file tree
// <data>/images by default (Options.Storage nil), or, as a later backend,
// an object store such as S3. The store keeps every record in bbolt and
// asks its Storage only for bytes, under keys that are image file paths
// relative to the root of the images, as ParseImageFile accepts them
// ("2026/11/27/name.th.jpg").
//
// The store assumes of a backend what the methods below promise, and
// nothing else. In particular it never needs rename, hard links, folders,
// appends, or a listing that is up to date:
//
//   - An image file is written once and whole, under a key that nothing
//     holds (Publish is "put if absent"), read any number of times, and
//     removed once. It is never changed or replaced in place.
//   - An upload is staged as local files (the data dir's tmp/) and handed
//     to Publish complete and fsynced, with its Content-Type.
//   - Every removal is safe to repeat: a missing object is not an error.
//   - A listing (Walk) may lag: miss objects published a moment ago, or
//     still show objects just removed. The store removes a listed object
//     only when no record names it, and decides and removes while no
//     upload of this store is between its Publish and the commit of its
//     record; so a lagging listing leaves an orphan for the next sweep and
//     never removes an image.
//   - Stat and Open agree with Publish and Remove on the same key (read
//     after write).
//
// Every method but Walk must refuse, with an error wrapping ErrInvalid, a
// key that ParseImageFile does not accept, so that whatever a record says,
// nothing but image files under the root can be read, written or removed.
// One Storage serves one store: two stores must not share a root. Methods
// are called concurrently, but the store never publishes or removes one key
// from two goroutines at once.
type Storage interface {
	// Publish makes every file of files visible under its Key, with the
	// bytes of the complete local file at its Path and its ContentType.
	// It never replaces anything: when a Key exists, it fails with an
	// error wrapping fs.ErrExist. On any failure it removes what it
	// published of files in this call; a crash can still leave some of
	// them, which the start-up sweep removes, since no record names them.
	// When it returns nil, every file is durable (survives a crash or a
	// power cut) and no reader ever sees part of one. It does not change
	// or remove the staged files.
	Publish(files []StagedFile) error

	// Open opens the object at key for reading. The file also implements
	// io.Seeker; from the local tree it is an *os.File, which net/http
	// sends with sendfile. A missing object is an error wrapping
	// fs.ErrNotExist.
	Open(key string) (fs.File, error)

	// Stat describes the object at key; the store compares its Size with
	// the record's. It returns an error wrapping fs.ErrNotExist only when
	// the object certainly does not exist, since the store then deletes
	// the record of an image created since the last start; any doubt (no
	// permission, a server that does not answer) must be another error.
	Stat(key string) (fs.FileInfo, error)

	// Remove removes the object at key. One that does not exist is not an
	// error.
	Remove(key string) error

	// Walk lists what lies under the root, for the start-up sweep, one
	// group at a time: it calls fn with the keys of a group (the files of
	// one folder of the local tree, one page of an object listing) and a
	// remove function that removes one of those keys, and refuses any
	// other. These keys need not be image file paths (left-over temporary
	// files, files put there by hand) but never leave the root. With since
	// zero it lists everything; otherwise it may leave out what last
	// changed before since (the local tree skips day folders whose mtime is
	// older), never what changed after it, but for a lagging listing. It
	// returns the first error of fn or of the listing.
	Walk(since time.Time, fn func(keys []string, remove func(key string) error) error) error
}

// StagedFile is one file for Storage.Publish.
type StagedFile struct {
	Key         string // where it goes: an image file path (ParseImageFile)
	Path        string // the complete, fsynced local file with its bytes
	ContentType string // what it is served as (ImageFile.ContentType)
}
