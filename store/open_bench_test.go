package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkOpen measures Open and Close of a data dir whose picbed.db holds
// n image records (about 1 kB of bbolt file each, indexes included), closed
// cleanly and checked, so no sweep runs: what is left is the file checks
// of dbcheck.go and the two start-up transactions.
//
//	go test ./store -run '^$' -bench Open -benchtime 20x
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			s := mustOpenStore(b, dir)
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			db, err := bolt.Open(filepath.Join(dir, "picbed.db"), 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			for start := 0; start < n; start += 1000 {
				err := db.Update(func(tx *bolt.Tx) error {
					for i := start; i < min(start+1000, n); i++ {
						id, _ := tx.Bucket(bucketImages).NextSequence()
						img := Image{ID: id, OwnerID: 1, Dir: "2026/11/27", Name: fmt.Sprintf("image-%06d", i), Ext: "jpg",
							MIME: "image/jpeg", Size: 123456, ThumbSize: 5000, MediumSize: 40000, Date: testDate,
							Title: "a title of some length", MD5: fmt.Sprintf("%032x", i), OriginalFilename: "IMG_0001.jpg"}
						if err := putImageTx(tx, img); err != nil {
							return err
						}
					}
					return tx.Bucket(bucketMeta).Put(metaCheckedSeq, u64(uint64(n)))
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			db.Close()
			for b.Loop() {
				s, err := Open(dir, Options{Location: time.UTC, Logger: quietLog})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}
