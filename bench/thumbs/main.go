// Command thumbs times picbed's thumbnail pipeline, imaging.Process, on
// image files: for each file, one warm-up run and then -n runs from memory,
// each producing the stored full file, the 160x160 thumbnail and (when due)
// the 500 px medium, written to io.Discard. It prints one line per file:
//
//	NAME images/s=X ms/image=Y
//
// Run it with GOMAXPROCS=1 (bench/run.sh does) to measure one core.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"picbed/imaging"
)

func main() {
	n := flag.Int("n", 10, "timed runs per image")
	q := flag.Int("q", 0, "JPEG quality of the thumbnail and medium (0 = imaging.DefaultQuality)")
	flag.Parse()
	for _, name := range flag.Args() {
		b, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		run := func() {
			if _, err := imaging.Process(bytes.NewReader(b), int64(len(b)), imaging.Options{Quality: *q}, io.Discard, io.Discard, io.Discard); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
				os.Exit(1)
			}
		}
		run()
		start := time.Now()
		for i := 0; i < *n; i++ {
			run()
		}
		d := time.Since(start)
		fmt.Printf("%s images/s=%.3f ms/image=%.1f\n", filepath.Base(name), float64(*n)/d.Seconds(), d.Seconds()*1000/float64(*n))
	}
}
