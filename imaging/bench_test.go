package imaging

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkProcessFiles runs Process with the default options (stored full file, 160x160
// thumbnail, 500 px medium, all to io.Discard) on each file of $PICBED_BENCH_IMAGES, a
// space-separated list (e.g. the images bench/run.sh makes in bench/out/img); skipped when
// unset:
//
//	PICBED_BENCH_IMAGES="$PWD/bench/out/img/shot0.png" go test ./imaging -run '^$' -bench ProcessFiles
func BenchmarkProcessFiles(b *testing.B) {
	list := strings.Fields(os.Getenv("PICBED_BENCH_IMAGES"))
	if len(list) == 0 {
		b.Skip("PICBED_BENCH_IMAGES not set")
	}
	for _, f := range list {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(f), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Process(bytes.NewReader(data), int64(len(data)), Options{}, io.Discard, io.Discard, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
