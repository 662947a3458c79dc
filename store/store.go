package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// schemaVersion is the version written into every record and into meta.
// Bump it together with a migration in Open.
const schemaVersion = 1

const (
	// defaultIDPadding is Chevereto V3's padding for new installs; it makes
	// the first ids three characters long instead of one.
	defaultIDPadding = 5000
	// defaultOpenTimeout bounds the wait for another process's lock, so a
	// second picbed on the same data dir fails fast instead of hanging.
	defaultOpenTimeout = time.Second
	// sweepSlack widens the "folders changed since the last sweep" window to
	// survive clock adjustments and coarse directory mtimes.
	sweepSlack = time.Hour
)

var (
	bucketMeta          = []byte("meta")
	bucketUsers         = []byte("users")
	bucketUsersByName   = []byte("users_by_name")
	bucketUsersByEmail  = []byte("users_by_email")
	bucketSessions      = []byte("sessions")
	bucketSessionsByUsr = []byte("sessions_by_user")
	bucketAlbums        = []byte("albums")
	bucketAlbumsByOwner = []byte("albums_by_owner")
	bucketKeys          = []byte("apikeys")
	bucketKeysByHash    = []byte("apikeys_by_hash")
	bucketKeysByUser    = []byte("apikeys_by_user")
	bucketImages        = []byte("images")
	bucketImagesByOwner = []byte("images_by_owner")
	bucketImagesByMD5   = []byte("images_by_md5")
	bucketImagesByFile  = []byte("images_by_file")
	bucketImagesByAlbum = []byte("images_by_album")
	bucketImagesByExp   = []byte("images_by_expiry")
	bucketImagesByGuest = []byte("images_by_guest")

	allBuckets = [][]byte{
		bucketMeta, bucketUsers, bucketUsersByName, bucketKeys, bucketKeysByHash,
		bucketKeysByUser, bucketImages, bucketImagesByOwner, bucketImagesByMD5,
		bucketImagesByFile, bucketImagesByAlbum, bucketImagesByExp, bucketUsersByEmail,
		bucketSessions, bucketSessionsByUsr, bucketAlbums, bucketAlbumsByOwner,
		bucketImagesByGuest,
	}
)

// meta keys
var (
	metaSchema        = []byte("schema")
	metaSalt          = []byte("id_salt")
	metaPadding       = []byte("id_padding")
	metaDeleteSecret  = []byte("delete_secret")
	metaLastSweep     = []byte("last_sweep")
	metaCheckedSeq    = []byte("checked_seq")
	metaCleanShutdown = []byte("clean_shutdown")
	metaFullSweep     = []byte("full_sweep")
	metaSiteSecret    = []byte("site_secret")
	metaSettings      = []byte("settings")
)

// siteSecretLen is the size of the site secret: a full HMAC-SHA256 key.
const siteSecretLen = 32

// Options configures Open. The zero value is usable.
type Options struct {
	// Location is the time zone of the YYYY/MM/DD image folders; nil means
	// time.Local.
	Location *time.Location
	// OpenTimeout is how long Open waits for another process's database
	// lock before failing with ErrLocked; 0 means 1s.
	OpenTimeout time.Duration
	// Logger receives start-up sweep results and background failures; nil
	// means slog.Default().
	Logger *slog.Logger
	// Storage is where the bytes of image files live; nil means the file
	// tree <dir>/images, created by Open if missing.
	Storage Storage
}

// Store is an open data directory. Its methods are safe for concurrent use.
type Store struct {
	dir       string
	imagesDir string
	tmpDir    string
	storage   Storage
	db        *bolt.DB
	loc       *time.Location
	log       *slog.Logger

	salt     string
	alphabet string
	padding  uint64
	secret   []byte // delete tokens
	site     []byte // Secret: the server's HMACs

	// fileMu serializes the moments when image file names appear or
	// disappear (PutImage link+commit, DeleteImage commit+remove), so a
	// delete can never remove the files a concurrent upload just linked
	// under a freed name.
	fileMu sync.Mutex

	// touchMu guards touched: the last time AuthAPIKey wrote LastUsed of
	// a key, so a failing write is not retried on every request.
	touchMu sync.Mutex
	touched map[uint64]time.Time

	// backups counts backups in progress. While it is not zero,
	// DeleteImage commits the record deletion but leaves the files to
	// endBackup (deferred), so that a backup finds every file its snapshot
	// names and no new upload can take a deleted file's name. Guarded by
	// fileMu, like deferred and deferMarked.
	backups     int
	deferred    []Image
	deferMarked bool // meta full_sweep was set for the deferred files

	// dirty is set when a file could not be removed; Close then does not
	// declare a clean shutdown, so the next Open sweeps.
	dirty atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// Open opens the data directory dir, creating it (0700) when missing. It
// opens dir/picbed.db, waiting at most opts.OpenTimeout for the lock of
// another process and failing with ErrLocked after that; creates every
// bucket; creates the per-install settings on first open (8-hex id salt, id
// padding 5000, 32-byte delete-token secret, 32-byte site secret); empties
// dir/tmp; deletes records created since the last start whose files are
// missing; and after an unclean shutdown removes files under dir/images that
// no record names (only in day folders changed since the last sweep). It
// fails if the database was written by a newer schema. A damaged
// dir/picbed.db (cut short, overwritten, garbled pages, a record whose
// file paths are not image file paths), or a missing or empty one beside
// image files (a new database would sweep them all away), is an error
// wrapping ErrCorrupt
// that names the file, says what is wrong and to restore a backup; Open
// then has changed nothing, neither in the file nor among the images.
func Open(dir string, opts Options) (*Store, error) {
	s, err := open(dir, opts)
	var d *damaged
	if errors.As(err, &d) {
		return nil, fmt.Errorf("%w: %s: %s. Nothing was changed; restore a backup (picbed restore FILE --data NEWDIR)",
			ErrCorrupt, filepath.Join(dir, "picbed.db"), d.msg)
	}
	return s, err
}

// open is Open without its message for a damaged database.
func open(dir string, opts Options) (*Store, error) {
	start := time.Now()
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = defaultOpenTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{
		dir:       dir,
		imagesDir: filepath.Join(dir, "images"),
		tmpDir:    filepath.Join(dir, "tmp"),
		loc:       opts.Location,
		log:       opts.Logger,
		touched:   make(map[uint64]time.Time),
		storage:   opts.Storage,
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, wrap(err, "create data dir")
	}
	dbPath := filepath.Join(dir, "picbed.db")
	if opts.Storage == nil {
		if err := checkNotEmptied(dbPath, s.imagesDir); err != nil {
			return nil, err
		}
	}
	db, err := openDB(dbPath, opts.OpenTimeout)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
	}
	if err != nil {
		return nil, wrap(err, "open %s", dbPath)
	}
	s.db = db
	if err := s.init(start); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// errFoundFile stops checkNotEmptied's walk at the first file.
var errFoundFile = errors.New("found a file")

// checkNotEmptied refuses a missing or empty database beside an image tree
// that holds files: a new database would make the start-up sweep remove
// every one of them as an orphan. A new data dir has no image files.
func checkNotEmptied(dbPath, imagesDir string) error {
	fi, err := os.Stat(dbPath)
	if err == nil && fi.Size() > 0 || err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil // openDB looks at it
	}
	werr := filepath.WalkDir(imagesDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			return errFoundFile
		}
		return nil // an unreadable folder: look at the others
	})
	if !errors.Is(werr, errFoundFile) {
		return nil
	}
	what := "is empty"
	if err != nil {
		what = "is missing"
	}
	return damagef("it %s, but %s holds image files, which a new database would remove as orphans", what, imagesDir)
}

// initDB runs init's transaction under recover, as a last line behind
// openDB's checks: a panic of bbolt or of a decoder there is a damaged
// database, not a crash.
func (s *Store) initDB(fn func(tx *bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = damagef("reading its settings failed: %v", r)
		}
	}()
	return s.db.Update(fn)
}

// state is what init reads from meta to decide how much to sweep.
type state struct {
	clean      bool
	fullSweep  bool
	lastSweep  time.Time
	checkedSeq uint64
}

func (s *Store) init(start time.Time) error {
	var st state
	err := s.initDB(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(metaSchema); v == nil {
			if err := meta.Put(metaSchema, u64(schemaVersion)); err != nil {
				return err
			}
		} else if len(v) != 8 {
			return damagef("its schema version is %d bytes, not 8", len(v))
		} else if got := binary.BigEndian.Uint64(v); got > schemaVersion {
			return fmt.Errorf("database schema %d is newer than this picbed (%d)", got, schemaVersion)
		}
		if meta.Get(metaSalt) == nil {
			secret := make([]byte, 32)
			rand.Read(secret)
			for k, v := range map[string][]byte{
				string(metaSalt):         []byte(randomHex(4)),
				string(metaPadding):      u64(defaultIDPadding),
				string(metaDeleteSecret): []byte(hex.EncodeToString(secret)),
			} {
				if err := meta.Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		s.salt = string(meta.Get(metaSalt))
		padding := meta.Get(metaPadding)
		if len(padding) != 8 {
			return damagef("its id padding is %d bytes, not 8", len(padding))
		}
		s.padding = binary.BigEndian.Uint64(padding)
		secret, err := hex.DecodeString(string(meta.Get(metaDeleteSecret)))
		if err != nil || len(secret) == 0 {
			return damagef("its delete-token secret is not hex")
		}
		s.secret = secret
		// Stores created before the site secret existed get one at their
		// next open, so this is not part of the first-open block above.
		if meta.Get(metaSiteSecret) == nil {
			site := make([]byte, siteSecretLen)
			rand.Read(site)
			if err := meta.Put(metaSiteSecret, site); err != nil {
				return err
			}
		}
		if s.site = bytes.Clone(meta.Get(metaSiteSecret)); len(s.site) != siteSecretLen {
			return damagef("its site secret is %d bytes, not %d", len(s.site), siteSecretLen)
		}

		st.clean = string(meta.Get(metaCleanShutdown)) == "1"
		st.fullSweep = string(meta.Get(metaFullSweep)) == "1"
		if v := meta.Get(metaLastSweep); len(v) == 8 {
			st.lastSweep = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
		}
		if v := meta.Get(metaCheckedSeq); len(v) == 8 {
			st.checkedSeq = binary.BigEndian.Uint64(v)
		}
		// From now on a crash is an unclean shutdown.
		return meta.Put(metaCleanShutdown, []byte("0"))
	})
	if err != nil {
		return wrap(err, "initialize database")
	}
	s.alphabet = idAlphabet(s.salt)

	if s.storage == nil {
		if err := os.MkdirAll(s.imagesDir, 0o755); err != nil {
			return wrap(err, "create images dir")
		}
		s.storage = newLocalStorage(s.imagesDir)
	}
	if err := s.clearTmp(); err != nil {
		return err
	}
	return s.recover(start, st)
}

// clearTmp removes every staging file left by a previous run.
func (s *Store) clearTmp() error {
	if err := os.RemoveAll(s.tmpDir); err != nil {
		return wrap(err, "clear tmp dir")
	}
	if err := os.MkdirAll(s.tmpDir, 0o700); err != nil {
		return wrap(err, "create tmp dir")
	}
	return nil
}

// Close waits for PutImage and DeleteImage calls in progress to finish their
// file and record steps, records a clean shutdown (unless a file could not be
// removed while open, which requests a full sweep instead) and closes the
// database. Staged uploads are not removed; the next Open clears them. Later
// calls return the first result; other methods fail once it has returned.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// Wait for uploads and deletes between their file and record
		// steps, so "clean" really means files and records agree.
		s.fileMu.Lock()
		defer s.fileMu.Unlock()
		err := s.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if s.dirty.Load() {
				return meta.Put(metaFullSweep, []byte("1"))
			}
			return meta.Put(metaCleanShutdown, []byte("1"))
		})
		if cerr := s.db.Close(); err == nil {
			err = cerr
		}
		s.closeErr = wrap(err, "close")
	})
	return s.closeErr
}

// Secret returns a copy of the site secret: 32 random bytes made at the
// first Open of the data dir and kept in meta (so backups carry it), for the
// server's HMACs (CSRF tokens, guest ids). It is independent of the secret
// behind DeleteToken.
func (s *Store) Secret() []byte { return bytes.Clone(s.site) }

// ImagesDir returns dir/images, the root of the local YYYY/MM/DD tree,
// for tests and tools that look at a data dir on disk (with another
// Options.Storage, no image lives there). Code that serves or reads image
// files uses OpenFile.
func (s *Store) ImagesDir() string { return s.imagesDir }

// OpenFile opens the image file at rel, a path ParseImageFile accepts
// ("2026/11/27/name.th.jpg"), from the store's Storage. The file also
// implements io.Seeker; from the local tree it is an *os.File. It returns
// an error wrapping ErrInvalid for any other path (nothing outside the
// image files can be named) and one wrapping fs.ErrNotExist for a missing
// file. The caller closes the file.
func (s *Store) OpenFile(rel string) (fs.File, error) { return s.storage.Open(rel) }

// markDirty notes that a file could not be removed, so the next start does a
// full sweep even if this run crashes before Close.
func (s *Store) markDirty() {
	if s.dirty.Swap(true) {
		return
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaFullSweep, []byte("1"))
	})
	if err != nil {
		s.log.Warn("store: cannot record need for a full sweep", slog.Any("err", err))
	}
}

// u64 encodes v as an 8-byte big-endian key.
func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// join2 returns a|b as two 8-byte big-endian integers.
func join2(a, b uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, a)
	binary.BigEndian.PutUint64(k[8:], b)
	return k
}

// seekLast positions c on the last key <= target and returns it (nil if
// there is none), for walking an index backwards with c.Prev.
func seekLast(c *bolt.Cursor, target []byte) []byte {
	k, _ := c.Seek(target)
	if k == nil {
		k, _ = c.Last()
	} else if !bytes.Equal(k, target) {
		k, _ = c.Prev()
	}
	return k
}

// isAny reports whether err is any of targets.
func isAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
