package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// A damaged picbed.db must not crash picbed. bbolt reads its file through a
// memory map and trusts what it finds: a page referenced beyond the end of
// a truncated file is a SIGBUS, which no recover() catches by default, and
// a zeroed or garbled page is a panic (page id and type assertions, an
// index out of range), a read of unmapped memory, or a loop between pages
// that never ends. So openDB checks the whole file before bbolt maps it,
// with ReadAt and under the file's lock (checkDBFile):
//
//   - one of the two meta pages must be valid (magic, version, checksum),
//     and the file must hold every page the valid one says it has;
//   - every page of the tree, from the root down through every bucket,
//     must say it is the page it is referenced as, be a branch or a leaf,
//     hold its elements, keys and values within itself, and have its keys
//     in order within the bounds of the branch above it;
//   - every page must be referenced once, be free, or be the freelist, and
//     the freelist must name pages that exist, each once;
//   - the indexes picbed keeps in step with a bucket (indexedBy) must have
//     as many entries as it, and id-keyed buckets 8-byte keys.
//
// What passes cannot make bbolt read outside the file, trip its
// assertions, or go round in circles. bolt.Open itself, and the first
// transaction at Open, still run under recover() with
// debug.SetPanicOnFault on, as a second line. bbolt's tx.Check finds much
// of this too, but it reads in a goroutine of its own, where no recover
// reaches, so it is not used here. A problem found is an error that is
// ErrCorrupt; nothing is written to the file before the checks pass, and
// no image file is looked at. bbolt keeps no checksum of data pages, so a
// changed byte inside a key or a value that leaves all this intact is not
// seen here (a record that no longer decodes is refused when it is read).

// bbolt's file format (go.etcd.io/bbolt/internal/common, version 2): every
// page starts with a 16-byte header (id uint64, flags uint16, count uint16,
// overflow uint32); the meta page's body (magic, version, page size, flags,
// root bucket page and sequence, freelist page, page count, txid, then an
// FNV-64a checksum of the 56 bytes before it) follows the header. Integers
// are in the machine's byte order.
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	boltPageHeader     = 16
	boltMetaBytes      = 64
	boltBranchFlag     = 0x01
	boltLeafFlag       = 0x02
	boltFreelistFlag   = 0x10
	boltBucketEntry    = 0x01 // leaf element flag: the value is a bucket
	boltBucketHeader   = 16   // a bucket value: root page id, sequence
	boltElementBytes   = 16   // a branch or leaf element
	boltNoFreelist     = ^uint64(0)
	boltMinPageSize    = 1 << 9
	boltMaxPageSize    = 1 << 24 // the largest page size bbolt probes for
	boltFirstDataPages = 2       // pages 0 and 1 are the meta pages
	// maxBucketDepth bounds the nesting of buckets and of branch pages the
	// checks follow: picbed's buckets are not nested, and a B+tree of
	// 4 kB pages is a handful of levels deep for any file bbolt can map.
	maxBucketDepth = 64
)

// boltMeta is the part of a meta page checkDBFile uses.
type boltMeta struct {
	pageSize           uint32
	root, freelist, hw uint64 // hw: the page count (high water mark)
	txid               uint64
}

// parseMeta reads the meta page at the start of page (at least
// boltPageHeader+boltMetaBytes bytes) and reports whether its magic,
// version and checksum are right.
func parseMeta(page []byte) (boltMeta, bool) {
	if len(page) < boltPageHeader+boltMetaBytes {
		return boltMeta{}, false
	}
	b := page[boltPageHeader : boltPageHeader+boltMetaBytes]
	ne := binary.NativeEndian
	h := fnv.New64a()
	h.Write(b[:56])
	if ne.Uint32(b[0:]) != boltMagic || ne.Uint32(b[4:]) != boltVersion || ne.Uint64(b[56:]) != h.Sum64() {
		return boltMeta{}, false
	}
	return boltMeta{
		pageSize: ne.Uint32(b[8:]),
		root:     ne.Uint64(b[16:]),
		freelist: ne.Uint64(b[32:]),
		hw:       ne.Uint64(b[40:]),
		txid:     ne.Uint64(b[48:]),
	}, true
}

// readAt reads up to n bytes at off; a short read at the end of the file is
// not an error.
func readAt(f *os.File, off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	k, err := f.ReadAt(b, off)
	if err == io.EOF {
		err = nil
	}
	return b[:k], err
}

// chunkBytes is what chunkReader reads at a time, and chunkCache how many
// chunks it keeps: bbolt allocates the pages of a bucket mostly in file
// order, so the tree walk finds most pages in a chunk it has just read,
// at a cost of at most chunkBytes*chunkCache of memory.
const (
	chunkBytes = 1 << 20
	chunkCache = 8
)

// chunkReader reads a file in chunks of chunkBytes, keeping the last
// chunkCache of them: one system call per chunk instead of per page.
type chunkReader struct {
	f      *os.File
	chunks [chunkCache]struct {
		off int64
		b   []byte
	}
	next int // the slot the next chunk goes to
}

// read returns up to n bytes at off (fewer at the end of the file). The
// slice may share memory with the cache: the caller does not change it.
func (r *chunkReader) read(off int64, n int) ([]byte, error) {
	for _, c := range r.chunks {
		if c.b != nil && off >= c.off && off+int64(n) <= c.off+int64(len(c.b)) {
			return c.b[off-c.off : off-c.off+int64(n)], nil
		}
	}
	if n > chunkBytes {
		return readAt(r.f, off, n)
	}
	start := off / chunkBytes * chunkBytes
	if off+int64(n) > start+chunkBytes {
		start = off
	}
	b, err := readAt(r.f, start, chunkBytes)
	if err != nil {
		return nil, err
	}
	r.chunks[r.next].off, r.chunks[r.next].b = start, b
	r.next = (r.next + 1) % chunkCache
	end := min(off-start+int64(n), int64(len(b)))
	if off-start > end {
		return nil, nil
	}
	return b[off-start : end], nil
}

// checkDBFile checks what bbolt reads at open from the database file f of
// size bytes (see the comment at the top). A new, empty file passes.
func checkDBFile(f *os.File, size int64) error {
	if size == 0 {
		return nil
	}
	first, err := readAt(f, 0, 4096)
	if err != nil {
		return err
	}
	meta0, ok0 := parseMeta(first)
	// The second meta page is one page in; without a valid first one, its
	// page size is unknown: try them all, as bbolt does.
	var meta1 boltMeta
	ok1 := false
	for ps := int64(boltMinPageSize); ps <= boltMaxPageSize && ps < size && !ok1; ps *= 2 {
		if ok0 && ps != int64(meta0.pageSize) {
			continue
		}
		page, err := readAt(f, ps, boltPageHeader+boltMetaBytes)
		if err != nil {
			return err
		}
		meta1, ok1 = parseMeta(page)
		if ok1 && int64(meta1.pageSize) != ps {
			ok1 = false
		}
	}
	var m boltMeta
	switch {
	case !ok0 && !ok1:
		if size < boltPageHeader+boltMetaBytes {
			return damagef("the file is only %d bytes: it was cut short or is not a database", size)
		}
		return damagef("neither of its two header (meta) pages is valid: it was overwritten or is not a picbed database")
	case ok0 && (!ok1 || meta0.txid >= meta1.txid):
		m = meta0 // bbolt uses the valid meta page of the later transaction
	default:
		m = meta1
	}
	ps := uint64(m.pageSize)
	if ps < boltMinPageSize || ps > boltMaxPageSize || ps&(ps-1) != 0 {
		return damagef("its header gives an impossible page size of %d bytes", ps)
	}
	if m.hw > uint64(size)/ps {
		return damagef("the file is %d bytes, but its header says it holds %d pages of %d bytes: it was cut short", size, m.hw, ps)
	}
	if m.hw < boltFirstDataPages+2 { // the meta pages, a freelist and a root
		return damagef("its header says it holds only %d pages", m.hw)
	}
	if m.root < boltFirstDataPages || m.root >= m.hw {
		return damagef("its header points the root of the data at page %d, outside its %d pages", m.root, m.hw)
	}
	t := &treeCheck{r: chunkReader{f: f}, m: m, used: make([]bool, m.hw), counts: map[string]int{}}
	t.used[0], t.used[1] = true, true
	var free []uint64
	if m.freelist != boltNoFreelist { // else bbolt rebuilds it by scanning
		if m.freelist < boltFirstDataPages || m.freelist >= m.hw {
			return damagef("its header points the list of free pages at page %d, outside its %d pages", m.freelist, m.hw)
		}
		var overflow uint64
		var err error
		if free, overflow, err = checkFreelist(f, m); err != nil {
			return err
		}
		for id := m.freelist; id <= m.freelist+overflow; id++ {
			t.used[id] = true
		}
	}
	if err := t.tree(m.root, 0, nil, nil, bucketStat{kind: inRoot}); err != nil {
		return err
	}
	for bucket, indexes := range indexedBy {
		for _, index := range indexes {
			if c, ok := t.counts[index]; ok && c != t.counts[bucket] {
				return damagef("bucket %s has %d entries but its index %s has %d: entries were lost", bucket, t.counts[bucket], index, c)
			}
		}
	}
	for _, id := range free {
		if t.used[id] {
			return damagef("page %d is listed as free but is in use", id)
		}
		t.used[id] = true
	}
	if m.freelist == boltNoFreelist {
		return nil
	}
	for id, ok := range t.used {
		if !ok {
			return damagef("page %d is neither in use nor free: a reference to it was lost", id)
		}
	}
	return nil
}

// treeCheck walks the pages of a bbolt file from the root (see checkDBFile).
type treeCheck struct {
	r      chunkReader
	m      boltMeta
	used   []bool         // pages seen so far, overflow pages included
	counts map[string]int // entries of each top-level bucket
}

// bucketStat says which tree a page belongs to: the root's, whose entries
// are the top-level buckets, a top-level bucket's, whose entries are
// counted, or a nested bucket's.
type bucketStat struct {
	name string
	kind int // inRoot, inTop or inNested
}

const (
	inRoot = iota
	inTop
	inNested
)

// tree checks the page id, referenced from a branch or a bucket at depth,
// and everything below it. Its keys must be in order, not below lo (the
// key its branch element has) and below hi (the next one's), nil for no
// bound: else a search would go down the wrong branch.
func (t *treeCheck) tree(id uint64, depth int, lo, hi []byte, b bucketStat) error {
	if depth > maxBucketDepth {
		return damagef("its pages nest deeper than %d levels", maxBucketDepth)
	}
	if id < boltFirstDataPages || id >= t.m.hw {
		return damagef("a reference to page %d, outside its %d pages", id, t.m.hw)
	}
	ps := uint64(t.m.pageSize)
	head, err := t.r.read(int64(id*ps), boltPageHeader)
	if err != nil {
		return err
	}
	ne := binary.NativeEndian
	if len(head) < boltPageHeader || ne.Uint64(head) != id {
		return damagef("page %d does not say it is page %d: it was overwritten", id, id)
	}
	flags, overflow := ne.Uint16(head[8:]), uint64(ne.Uint32(head[12:]))
	if id+overflow >= t.m.hw {
		return damagef("page %d (and %d more) runs past its %d pages", id, overflow, t.m.hw)
	}
	for p := id; p <= id+overflow; p++ {
		if t.used[p] {
			return damagef("page %d is referenced twice", p)
		}
		t.used[p] = true
	}
	page, err := t.r.read(int64(id*ps), int((overflow+1)*ps))
	if err != nil {
		return err
	}
	if uint64(len(page)) != (overflow+1)*ps {
		return damagef("page %d is cut short", id)
	}
	switch flags {
	case boltBranchFlag:
		return t.branch(id, page, depth, lo, hi, b)
	case boltLeafFlag:
		return t.leaf(fmt.Sprintf("page %d", id), page, depth, lo, hi, b)
	}
	return damagef("page %d is of type %#x where data should be", id, flags)
}

// elements returns the element count of page and checks that its
// elements fit in it.
func elements(what string, page []byte) (int, error) {
	n := int(binary.NativeEndian.Uint16(page[10:]))
	if boltPageHeader+n*boltElementBytes > len(page) {
		return 0, damagef("%s claims %d elements, more than it holds", what, n)
	}
	return n, nil
}

// inPage checks that the bytes [start, start+n) of an element's key or
// value lie within page.
func inPage(page []byte, start, n uint64) bool {
	return start <= uint64(len(page)) && n <= uint64(len(page))-start
}

// keyOrder checks that key follows prev (nil for the first) and lies in
// [lo, hi) (nil: no bound).
func keyOrder(what string, prev, key, lo, hi []byte) error {
	if prev != nil && bytes.Compare(prev, key) >= 0 || prev == nil && lo != nil && bytes.Compare(key, lo) < 0 ||
		hi != nil && bytes.Compare(key, hi) >= 0 {
		return damagef("the keys of %s are out of order", what)
	}
	return nil
}

// branch checks the elements of a branch page and the pages below it.
func (t *treeCheck) branch(id uint64, page []byte, depth int, lo, hi []byte, b bucketStat) error {
	what := fmt.Sprintf("page %d", id)
	n, err := elements(what, page)
	if err != nil {
		return err
	}
	if n == 0 {
		return damagef("branch page %d is empty", id)
	}
	ne := binary.NativeEndian
	keys := make([][]byte, n)
	children := make([]uint64, n)
	for i := range n {
		off := uint64(boltPageHeader + i*boltElementBytes)
		e := page[off:]
		pos, ksize := uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
		if !inPage(page, off+pos, ksize) {
			return damagef("a key of %s lies outside it", what)
		}
		keys[i], children[i] = page[off+pos:off+pos+ksize], ne.Uint64(e[8:])
		var prev []byte
		if i > 0 {
			prev = keys[i-1]
		}
		if err := keyOrder(what, prev, keys[i], lo, hi); err != nil {
			return err
		}
	}
	for i, child := range children {
		next := hi
		if i+1 < n {
			next = keys[i+1]
		}
		if err := t.tree(child, depth+1, keys[i], next, b); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks the elements of a leaf page (what names it in errors), and
// the buckets its elements hold: inline ones in their value, others from
// their root page.
func (t *treeCheck) leaf(what string, page []byte, depth int, lo, hi []byte, b bucketStat) error {
	n, err := elements(what, page)
	if err != nil {
		return err
	}
	ne := binary.NativeEndian
	var prev []byte
	for i := range n {
		off := uint64(boltPageHeader + i*boltElementBytes)
		e := page[off:]
		flags, pos := ne.Uint32(e[0:]), uint64(ne.Uint32(e[4:]))
		ksize, vsize := uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		if !inPage(page, off+pos, ksize) || !inPage(page, off+pos+ksize, vsize) {
			return damagef("a key or value of %s lies outside it", what)
		}
		key := page[off+pos : off+pos+ksize]
		if err := keyOrder(what, prev, key, lo, hi); err != nil {
			return err
		}
		prev = key
		if b.kind == inTop {
			t.counts[b.name]++
			if idKeyed[b.name] && len(key) != 8 {
				return damagef("a key of bucket %s is %d bytes, not an 8-byte id", b.name, len(key))
			}
		}
		if flags&boltBucketEntry == 0 {
			continue
		}
		child := bucketStat{kind: inNested}
		if b.kind == inRoot {
			child = bucketStat{name: string(key), kind: inTop}
		}
		if depth+1 > maxBucketDepth {
			return damagef("its buckets nest deeper than %d levels", maxBucketDepth)
		}
		v := page[off+pos+ksize : off+pos+ksize+vsize]
		if len(v) < boltBucketHeader {
			return damagef("a bucket in %s is cut short", what)
		}
		if root := ne.Uint64(v); root != 0 {
			if err := t.tree(root, depth+1, nil, nil, child); err != nil {
				return err
			}
			continue
		}
		inline := v[boltBucketHeader:]
		if len(inline) < boltPageHeader || ne.Uint16(inline[8:]) != boltLeafFlag {
			return damagef("a bucket stored in %s is not a leaf", what)
		}
		if err := t.leaf("a bucket stored in "+what, inline, depth+1, nil, nil, child); err != nil {
			return err
		}
	}
	return nil
}

// checkFreelist checks the freelist page of m: the flags of a freelist, a
// count of ids that fits in its pages, and ids of data pages that exist,
// each once. It returns the ids and the freelist's overflow pages.
func checkFreelist(f *os.File, m boltMeta) ([]uint64, uint64, error) {
	ps := uint64(m.pageSize)
	head, err := readAt(f, int64(m.freelist*ps), boltPageHeader+8)
	if err != nil {
		return nil, 0, err
	}
	if len(head) < boltPageHeader+8 {
		return nil, 0, damagef("the list of free pages (page %d) is cut short", m.freelist)
	}
	ne := binary.NativeEndian
	flags, count, overflow := ne.Uint16(head[8:]), uint64(ne.Uint16(head[10:])), uint64(ne.Uint32(head[12:]))
	if ne.Uint64(head) != m.freelist || flags != boltFreelistFlag {
		return nil, 0, damagef("page %d should hold the list of free pages but is of type %#x", m.freelist, flags)
	}
	if m.freelist+overflow >= m.hw {
		return nil, 0, damagef("the list of free pages (page %d, %d more) runs past its %d pages", m.freelist, overflow, m.hw)
	}
	span := (overflow+1)*ps - boltPageHeader
	skip := uint64(0)
	if count == 0xFFFF { // more ids than the header field holds: the count comes first
		count, skip = ne.Uint64(head[boltPageHeader:]), 1
	}
	if count > span/8-skip {
		return nil, 0, damagef("the list of free pages claims %d pages, more than its %d bytes hold", count, span)
	}
	body, err := readAt(f, int64(m.freelist*ps+boltPageHeader+skip*8), int(count*8))
	if err != nil {
		return nil, 0, err
	}
	if uint64(len(body)) != count*8 {
		return nil, 0, damagef("the list of free pages is cut short")
	}
	ids := make([]uint64, count)
	for i := range ids {
		ids[i] = ne.Uint64(body[i*8:])
		if ids[i] < boltFirstDataPages || ids[i] >= m.hw {
			return nil, 0, damagef("the list of free pages names page %d, outside its %d pages", ids[i], m.hw)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			return nil, 0, damagef("the list of free pages names page %d twice", ids[i])
		}
	}
	return ids, overflow, nil
}

// boltOpenError turns what bolt.Open reports about a file it cannot use
// into a damaged error; other errors are returned as they are.
func boltOpenError(err error) error {
	switch {
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum):
		return damagef("bbolt does not recognise it (%v)", err)
	case errors.Is(err, berrors.ErrVersionMismatch):
		return damagef("it is of another bbolt file version (%v)", err)
	}
	return err
}

// indexedBy lists buckets that hold one entry per entry of another: an
// image is in images_by_owner and images_by_file once each, a user in
// users_by_name, a key in apikeys_by_hash. Counts that differ mean entries
// were lost (a changed page count, a lost reference) even if every page
// looks right.
var indexedBy = map[string][]string{
	string(bucketImages): {string(bucketImagesByOwner), string(bucketImagesByFile)},
	string(bucketUsers):  {string(bucketUsersByName)},
	string(bucketKeys):   {string(bucketKeysByHash)},
}

// idKeyed lists buckets whose keys are 8-byte ids.
var idKeyed = map[string]bool{
	string(bucketImages): true, string(bucketUsers): true,
	string(bucketKeys): true, string(bucketAlbums): true,
}

// openDB opens the bbolt file at p after checking it (see the comment at
// the top): it takes the file's lock itself, waiting at most timeout
// (berrors.ErrTimeout after that), checks the file under it and gives the
// locked file to bolt.Open, so no other process can change it in between.
func openDB(p string, timeout time.Duration) (*bolt.DB, error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, timeout); err != nil {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkDBFile(f, fi.Size())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return openBolt(p, f, timeout)
}

// openBolt is bolt.Open of the checked, locked file f, under recover and
// with faults as panics, as a second line behind checkDBFile.
func openBolt(p string, f *os.File, timeout time.Duration) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			f.Close()
			db, err = nil, damagef("opening it failed: %v", r)
		}
	}()
	db, err = bolt.Open(p, 0o600, &bolt.Options{
		Timeout:  timeout,
		OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil },
	})
	if err != nil {
		return nil, boltOpenError(err)
	}
	return db, nil
}
