// Command loadtest drives a running picbed with a mixed load from many
// concurrent clients: small screenshot-like PNG uploads, some 12-megapixel
// JPEG uploads (generated at start, never committed), downloads and deletes
// of what the clients uploaded. It ends after -requests operations or
// -duration, whichever comes first, then downloads every image still alive
// and compares its md5 with the upload answer.
//
// Every operation that should succeed and does not is a failure; an image
// answered as stored that cannot be downloaded with its md5 is lost. The
// summary goes to stdout as JSON (-json) or text; the exit status is 1 when
// anything failed or was lost.
//
//	go run ./loadtest -url http://127.0.0.1:8080 -key pb_... -clients 24 -requests 1000
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Summary is the result of a run, printed as JSON with -json.
type Summary struct {
	Clients       int      `json:"clients"`
	Requests      int64    `json:"requests"`
	Failures      int64    `json:"failures"`
	UploadsSmall  int64    `json:"uploads_small"`
	UploadsLarge  int64    `json:"uploads_large"`
	UploadBytes   int64    `json:"upload_bytes"`
	Downloads     int64    `json:"downloads"`
	Deletes       int64    `json:"deletes"`
	Verified      int64    `json:"verified"`
	Lost          int64    `json:"lost"`
	Seconds       float64  `json:"seconds"`
	FailureSample []string `json:"failure_sample,omitempty"`
}

type stored struct {
	url, thumb, md5, deleteURL string
}

type run struct {
	base, key  string
	largeEvery int
	httpc      *http.Client
	small      [][]byte
	large      [][]byte
	seq        atomic.Uint64

	requests, failures, uploadsSmall, uploadsLarge, uploadBytes atomic.Int64
	downloads, deletes, verified, lost                          atomic.Int64

	mu     sync.Mutex
	sample []string
}

func main() {
	var (
		base     = flag.String("url", "http://127.0.0.1:8080", "picbed base `URL`")
		key      = flag.String("key", os.Getenv("PICBED_KEY"), "API `key` (PICBED_KEY)")
		clients  = flag.Int("clients", 24, "concurrent clients")
		requests = flag.Int64("requests", 1000, "operations in all; 0: until -duration")
		duration = flag.Duration("duration", 0, "run at most this long; 0: until -requests")
		large    = flag.Int("large-every", 40, "one upload in N is a 12-megapixel JPEG; 0: none")
		onlyLg   = flag.Bool("only-large", false, "each client uploads one 12-megapixel JPEG at once and stops (memory test)")
		asJSON   = flag.Bool("json", false, "print the summary as JSON")
		seed     = flag.Uint64("seed", 0, "random seed; 0: random")
	)
	flag.Parse()
	if *key == "" || (*requests <= 0 && *duration <= 0) || *clients <= 0 {
		fmt.Fprintln(os.Stderr, "loadtest: need -key, -clients > 0 and -requests or -duration")
		os.Exit(2)
	}
	if *seed == 0 {
		*seed = rand.Uint64()
	}
	r := &run{
		base:       strings.TrimRight(*base, "/"),
		key:        *key,
		largeEvery: *large,
		httpc: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
			MaxIdleConnsPerHost: *clients, MaxConnsPerHost: 0, DisableCompression: true,
		}},
	}
	rng := rand.New(rand.NewPCG(*seed, 7))
	for i := range 12 {
		r.small = append(r.small, screenshotPNG(rng, i))
	}
	if *large > 0 || *onlyLg {
		for i := range 2 {
			r.large = append(r.large, photoJPEG(rng, 4000, 3000, i))
		}
	}

	ctx := context.Background()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	start := time.Now()
	var budget atomic.Int64
	budget.Store(*requests)
	if *requests <= 0 {
		budget.Store(1 << 62)
	}
	var (
		wg    sync.WaitGroup
		alive = make([][]stored, *clients)
		gate  = make(chan struct{})
	)
	for c := range *clients {
		crng := rand.New(rand.NewPCG(*seed, uint64(c)+100))
		wg.Go(func() {
			<-gate
			if *onlyLg {
				if s, ok := r.upload(crng, true); ok {
					alive[c] = append(alive[c], s)
				}
				return
			}
			for ctx.Err() == nil && budget.Add(-1) >= 0 {
				alive[c] = r.step(crng, alive[c])
			}
		})
	}
	close(gate)
	wg.Wait()

	// Every image still alive must download with the md5 it was answered with.
	var vg sync.WaitGroup
	for c := range alive {
		vg.Go(func() {
			for _, s := range alive[c] {
				if r.verify(s) {
					r.verified.Add(1)
				}
			}
		})
	}
	vg.Wait()

	sum := Summary{
		Clients: *clients, Requests: r.requests.Load(), Failures: r.failures.Load(),
		UploadsSmall: r.uploadsSmall.Load(), UploadsLarge: r.uploadsLarge.Load(), UploadBytes: r.uploadBytes.Load(),
		Downloads: r.downloads.Load(), Deletes: r.deletes.Load(), Verified: r.verified.Load(), Lost: r.lost.Load(),
		Seconds: time.Since(start).Seconds(), FailureSample: r.sample,
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(sum)
	} else {
		fmt.Printf("%d clients, %d requests in %.1fs: %d small + %d large uploads (%.1f MB), %d downloads, %d deletes; %d images verified; %d failures, %d lost\n",
			sum.Clients, sum.Requests, sum.Seconds, sum.UploadsSmall, sum.UploadsLarge, float64(sum.UploadBytes)/1e6,
			sum.Downloads, sum.Deletes, sum.Verified, sum.Failures, sum.Lost)
		for _, s := range sum.FailureSample {
			fmt.Println("  ", s)
		}
	}
	if sum.Failures > 0 || sum.Lost > 0 {
		os.Exit(1)
	}
}

// step does one operation of a client: mostly uploads and downloads of its
// own images, sometimes a delete.
func (r *run) step(rng *rand.Rand, alive []stored) []stored {
	switch n := rng.IntN(100); {
	case n < 55 || len(alive) == 0:
		large := r.largeEvery > 0 && rng.IntN(r.largeEvery) == 0
		if s, ok := r.upload(rng, large); ok {
			alive = append(alive, s)
		}
	case n < 90:
		s := alive[rng.IntN(len(alive))]
		u := s.url
		if n >= 80 {
			u = s.thumb
		}
		r.requests.Add(1)
		b, status, err := r.get(u)
		if err != nil || status != 200 {
			r.fail("GET %s: %d %v", u, status, err)
		} else if u == s.url && md5hex(b) != s.md5 {
			r.lost.Add(1)
			r.fail("GET %s: md5 %s, answered %s", u, md5hex(b), s.md5)
		} else {
			r.downloads.Add(1)
		}
	default:
		i := rng.IntN(len(alive))
		s := alive[i]
		r.requests.Add(1)
		resp, err := r.httpc.Post(s.deleteURL, "application/x-www-form-urlencoded", nil)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != 200 {
			r.fail("delete %s: %v %v", s.deleteURL, status(resp), err)
			break
		}
		r.deletes.Add(1)
		alive = append(alive[:i], alive[i+1:]...)
		if _, st, err := r.get(s.url); err != nil || st != 404 {
			r.fail("GET %s after its delete: %d %v", s.url, st, err)
		}
	}
	return alive
}

func status(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// upload sends one image, made unique by a random metadata block that
// picbed strips, so that no two uploads are duplicates.
func (r *run) upload(rng *rand.Rand, large bool) (stored, bool) {
	var data []byte
	name := fmt.Sprintf("shot-%d.png", r.seq.Add(1))
	if large {
		data = withJPEGComment(r.large[rng.IntN(len(r.large))], r.seq.Add(1))
		name = fmt.Sprintf("photo-%d.jpg", r.seq.Load())
	} else {
		data = withPNGText(r.small[rng.IntN(len(r.small))], r.seq.Add(1))
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("key", r.key)
	fw, _ := mw.CreateFormFile("source", name)
	fw.Write(data)
	mw.Close()
	r.requests.Add(1)
	req, _ := http.NewRequest("POST", r.base+"/api/1/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := r.httpc.Do(req)
	if err != nil {
		r.fail("upload %s: %v", name, err)
		return stored{}, false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var a struct {
		Image struct {
			URL       string `json:"url"`
			MD5       string `json:"md5"`
			DeleteURL string `json:"delete_url"`
			Thumb     struct {
				URL string `json:"url"`
			} `json:"thumb"`
		} `json:"image"`
	}
	if err != nil || resp.StatusCode != 200 || json.Unmarshal(b, &a) != nil || a.Image.URL == "" {
		r.fail("upload %s: %d %v %.200s", name, resp.StatusCode, err, b)
		return stored{}, false
	}
	if large {
		r.uploadsLarge.Add(1)
	} else {
		r.uploadsSmall.Add(1)
	}
	r.uploadBytes.Add(int64(len(data)))
	return stored{url: a.Image.URL, thumb: a.Image.Thumb.URL, md5: a.Image.MD5, deleteURL: a.Image.DeleteURL}, true
}

func (r *run) verify(s stored) bool {
	b, st, err := r.get(s.url)
	if err != nil || st != 200 || md5hex(b) != s.md5 {
		r.lost.Add(1)
		r.fail("verify %s: %d %v md5 %s, answered %s", s.url, st, err, md5hex(b), s.md5)
		return false
	}
	if _, st, err := r.get(s.thumb); err != nil || st != 200 {
		r.lost.Add(1)
		r.fail("verify %s: %d %v", s.thumb, st, err)
		return false
	}
	return true
}

func (r *run) get(u string) ([]byte, int, error) {
	resp, err := r.httpc.Get(u)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

func (r *run) fail(format string, args ...any) {
	r.failures.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sample) < 20 {
		r.sample = append(r.sample, fmt.Sprintf(format, args...))
	}
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// screenshotPNG draws a screenshot-like picture: flat panels, a title bar
// and rows of "text" blocks, which compresses like real screenshots do.
func screenshotPNG(rng *rand.Rand, i int) []byte {
	sizes := [][2]int{{1280, 800}, {800, 600}, {1920, 1080}, {640, 400}, {390, 844}, {300, 200}}
	sz := sizes[i%len(sizes)]
	img := image.NewNRGBA(image.Rect(0, 0, sz[0], sz[1]))
	bg := color.NRGBA{uint8(230 + rng.IntN(25)), uint8(230 + rng.IntN(25)), uint8(230 + rng.IntN(25)), 255}
	fill(img, img.Bounds(), bg)
	fill(img, image.Rect(0, 0, sz[0], 32), color.NRGBA{uint8(rng.IntN(80)), uint8(rng.IntN(80)), uint8(80 + rng.IntN(100)), 255})
	fill(img, image.Rect(0, 32, sz[0]/5, sz[1]), color.NRGBA{210, 214, 220, 255})
	for y := 48; y+10 < sz[1]; y += 18 {
		for x := sz[0]/5 + 16; x < sz[0]-40; {
			w := 8 + rng.IntN(60)
			if rng.IntN(9) == 0 {
				x += w
				continue
			}
			fill(img, image.Rect(x, y, min(x+w, sz[0]-20), y+10), color.NRGBA{uint8(rng.IntN(60)), uint8(rng.IntN(60)), uint8(rng.IntN(60)), 255})
			x += w + 6
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func fill(img *image.NRGBA, r image.Rectangle, c color.NRGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
}

// photoJPEG makes a w×h photo-like JPEG: smooth gradients and grain, so it
// compresses to a realistic few megabytes.
func photoJPEG(rng *rand.Rand, w, h, i int) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			g := (x*255/w + y*255/h + i*60) / 2
			img.Y[y*img.YStride+x] = uint8(min(255, max(0, g+rng.IntN(24)-12)))
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			o := y*img.CStride + x
			img.Cb[o] = uint8(100 + x*80/w)
			img.Cr[o] = uint8(110 + y*90/h + rng.IntN(4))
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 88})
	return b.Bytes()
}

// withPNGText inserts a tEXt chunk carrying n after the IHDR chunk.
func withPNGText(p []byte, n uint64) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4
	data := append([]byte("Comment\x00loadtest "), fmt.Sprint(n)...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append(append(append([]byte{}, p[:ihdrEnd]...), chunk...), p[ihdrEnd:]...)
	return out
}

// withJPEGComment inserts a COM segment carrying n after the SOI marker.
func withJPEGComment(j []byte, n uint64) []byte {
	text := fmt.Sprintf("loadtest %d", n)
	seg := []byte{0xff, 0xfe}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(text)+2))
	seg = append(seg, text...)
	return append(append(append([]byte{}, j[:2]...), seg...), j[2:]...)
}
