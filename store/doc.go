// Package store is picbed's persistence: metadata in one bbolt file and image
// bytes in a plain file tree that a web server can serve directly.
//
// # Invariants
//
// Every bbolt transaction is opened inside this package; no *bolt.Tx and no
// slice returned by Get ever leaves it (values are decoded inside the
// transaction). Record ids come from the bucket's NextSequence and are stored
// as 8-byte big-endian keys, so cursor order is id order. Every record is a
// JSON object with a schema version field "v".
//
// After Open returns, the image tree and the records agree: there is no file
// under images/ that no record names, and no record created since the last
// sweep whose files are missing (see Open).
//
// # Data directory
//
//	<dir>/picbed.db                      bbolt metadata (0600), flock-ed while open
//	<dir>/tmp/                           staging files of uploads in progress; emptied at Open
//	<dir>/images/YYYY/MM/DD/NAME.EXT     full image (0644), folder date in Options.Location
//	<dir>/images/YYYY/MM/DD/NAME.th.EXT  thumbnail, same extension
//	<dir>/images/YYYY/MM/DD/NAME.md.EXT  medium size, only when the image has one
//
// tmp/ and images/ are on the same file system, so a staged file becomes
// visible by a hard link (which never replaces an existing name) and never
// exists half-written under images/.
//
// # Image files
//
// Where image bytes live is a Storage (Options.Storage); the tree above is
// the local one and the default. Every access to an image file goes
// through it, under a key of the one layout of imagefile.go
// (ParseImageFile): the shape of the path, the extensions and their
// Content-Type are defined there and nowhere else. The Storage interface
// is shaped for object stores too: publishing is "put if absent" of a
// complete staged file, removing is idempotent, and the start-up sweep
// tolerates a listing that lags.
//
// # Buckets
//
//	meta               settings: "schema", "id_salt", "id_padding", "delete_secret",
//	                   "last_sweep", "checked_seq", "clean_shutdown", "full_sweep",
//	                   "site_secret" (32 raw bytes), "settings" (JSON, see Settings)
//	users              user id -> user record (bcrypt password hash included)
//	users_by_name      lower-case user name -> user id
//	users_by_email     lower-case e-mail address -> user id (users without one are not indexed)
//	sessions           SHA-256(token) (32 bytes) -> session record (never the token)
//	sessions_by_user   user id | session id -> SHA-256(token)
//	apikeys            key id -> key record (SHA-256 of the key, never the key)
//	apikeys_by_hash    SHA-256(key) (32 bytes) -> key id
//	apikeys_by_user    user id | key id -> empty
//	albums             album id -> album record (bcrypt hash of its password, if any)
//	albums_by_owner    owner id | album id -> empty
//	images             image id -> image record
//	images_by_owner    owner id | image id -> empty (owner 0 = guests)
//	images_by_md5      owner id | md5 hex | 0x00 | image id -> empty (MD5, SourceMD5, RawMD5)
//	images_by_file     "YYYY/MM/DD/NAME.EXT" -> image id (orphan sweep, name uniqueness)
//	images_by_album    album id | image id -> empty (album 0 not indexed); album image
//	                   counts and covers are counted from it, never stored
//	images_by_expiry   expiry unix seconds | image id -> empty (images that expire)
//	images_by_guest    guest id | 0x00 | image id -> empty (images with a GuestID)
//
// All "|" joins are 8-byte big-endian integers written back to back. Keys of
// sessions are hashes, not ids; session ids still come from that bucket's
// NextSequence.
//
// # Owners, albums and guests
//
// An image in an album belongs to the album's owner: PutImage and
// MoveImages refuse anything else, and guests (owner 0) have no albums.
// Whatever changes an image's owner or album (MoveImages, ClaimGuestImages,
// DeleteAlbum, DeleteUser) rewrites the record and moves all its index
// entries in the same transaction, through indexEntries, so that put,
// change and delete stay symmetric. Album image counts and covers are read
// from images_by_album, so the many ways an image can disappear (delete,
// expiry, start-up check, a backup leaving out a broken record) need no
// album bookkeeping.
package store
