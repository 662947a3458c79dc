package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"picbed/ingest"
	"picbed/server/fetch"
	"picbed/server/site"
	"picbed/store"
)

// testHost is a picbed server on loopback over a fresh data dir, with one
// user and key.
type testHost struct {
	srv   *Server
	store *store.Store
	http  *httptest.Server
	key   string
}

func newTestHost(t *testing.T, cfg Config) *testHost {
	t.Helper()
	return newTestHostDeps(t, cfg, Deps{})
}

// newTestHostDeps is newTestHost with d's Fetcher and Log (the store and
// UI are the test's own; no Log is a quiet one).
func newTestHostDeps(t *testing.T, cfg Config, d Deps) *testHost {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(t.TempDir(), store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d.Store, d.UI = st, os.DirFS("../ui")
	if d.Log == nil {
		d.Log = quiet
	}
	srv, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	// Served as Server.Serve serves it: image requests on the fast path,
	// the rest through net/http.
	hs, _ := fastFront(t, srv)
	u, err := st.CreateUser("tester", "password1", false)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := st.CreateAPIKey(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &testHost{srv: srv, store: st, http: hs, key: key}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends fields (and a file part when file is set) as multipart.
func (h *testHost) post(t *testing.T, fields map[string]string, fileName string, file []byte, hdr http.Header) (int, map[string]any, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, ok := fields["key"]; !ok && hdr.Get("X-API-Key") == "" {
		mw.WriteField("key", h.key)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		w, _ := mw.CreateFormFile("source", fileName)
		w.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", h.http.URL+"/api/1/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	json.Unmarshal(raw, &doc)
	return resp.StatusCode, doc, raw
}

func imageOf(t *testing.T, doc map[string]any, raw []byte) map[string]any {
	t.Helper()
	img, ok := doc["image"].(map[string]any)
	if !ok {
		t.Fatalf("no image in answer: %s", raw)
	}
	return img
}

func errorOf(t *testing.T, doc map[string]any, raw []byte) (string, float64) {
	t.Helper()
	e, ok := doc["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error in answer: %s", raw)
	}
	return e["message"].(string), e["code"].(float64)
}

func TestV4Parameters(t *testing.T) {
	h := newTestHost(t, Config{})
	now := time.Now().UTC()
	status, doc, raw := h.post(t, map[string]string{
		"title":       "  My <b>custom</b> title\x07 ",
		"description": "Line one\nline two",
		"tags":        "cat, ,dog,",
		"nsfw":        "1",
		"width":       "300",
		"expiration":  "PT5M",
	}, "photo.png", readTestdata(t, "photo.png"), nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	img := imageOf(t, doc, raw)
	for k, want := range map[string]any{
		"title":                "My <b>custom</b> title",
		"title_truncated_html": "My &lt;b&gt;custom&lt;\\/b&gt; title",
		"description":          "Line one\nline two",
		"nsfw":                 "1",
		"width":                "300",
		"height":               "188",
		"chain":                "5",
		"original_filename":    "photo.png",
	} {
		if k == "title_truncated_html" {
			want = "My &lt;b&gt;custom&lt;/b&gt; title"
		}
		if img[k] != want {
			t.Errorf("%s = %#v, want %#v", k, img[k], want)
		}
	}
	if img["source_md5"] == nil || img["source_md5"] == img["md5"] {
		t.Errorf("resized upload: source_md5 %v, md5 %v", img["source_md5"], img["md5"])
	}
	exp, err := time.Parse("2006-01-02 15:04:05", fmt.Sprint(img["expiration_date_gmt"]))
	if err != nil || exp.Sub(now) < 4*time.Minute || exp.Sub(now) > 6*time.Minute {
		t.Errorf("expiration_date_gmt %v for PT5M at %v", img["expiration_date_gmt"], now)
	}
	id, _ := h.store.DecodeID(img["id_encoded"].(string))
	stored, err := h.store.Image(id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(stored.Tags, ",") != "cat,dog" {
		t.Errorf("tags stored as %q", stored.Tags)
	}

	// Out-of-range values are ignored or clamped, never an error.
	status, doc, raw = h.post(t, map[string]string{"width": "-5", "nsfw": "yes", "expiration": "P99Y", "title": strings.Repeat("é", 300)}, "small.png", readTestdata(t, "small.png"), nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	img = imageOf(t, doc, raw)
	if img["width"] != "150" || img["nsfw"] != "0" || len([]rune(img["title"].(string))) != 100 {
		t.Errorf("width %v nsfw %v title runes %d", img["width"], img["nsfw"], len([]rune(img["title"].(string))))
	}
	exp, _ = time.Parse("2006-01-02 15:04:05", fmt.Sprint(img["expiration_date_gmt"]))
	if d := exp.Sub(now); d > ingest.MaxExpiry+time.Minute || d < ingest.MaxExpiry-time.Minute {
		t.Errorf("P99Y expires in %v, want clamped to %v", d, ingest.MaxExpiry)
	}
}

func TestExpiredImagesDisappear(t *testing.T) {
	h := newTestHost(t, Config{})
	status, doc, raw := h.post(t, map[string]string{"expiration": "P1D"}, "small.png", readTestdata(t, "small.png"), nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	img := imageOf(t, doc, raw)
	viewer := img["url_viewer"].(string)
	if resp, _ := http.Get(viewer); resp.StatusCode != 200 {
		t.Fatalf("viewer before expiry: %s", resp.Status)
	}
	h.srv.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	if resp, _ := http.Get(viewer); resp.StatusCode != 404 {
		t.Errorf("viewer after expiry: %s, want 404", resp.Status)
	}
	h.srv.sweepExpired()
	id, _ := h.store.DecodeID(img["id_encoded"].(string))
	if _, err := h.store.Image(id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the sweep the record is still there: %v", err)
	}
	if resp, _ := http.Get(img["url"].(string)); resp.StatusCode != 404 {
		t.Errorf("after the sweep the file answers %s", resp.Status)
	}
}

func TestImgBBAlias(t *testing.T) {
	h := newTestHost(t, Config{})
	form := "key=" + h.key + "&image=" + strings.ReplaceAll(base64.StdEncoding.EncodeToString(readTestdata(t, "small.jpg")), "+", "%2B")
	resp, err := http.Post(h.http.URL+"/api/1/upload", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc map[string]any
	json.Unmarshal(raw, &doc)
	data, _ := doc["data"].(map[string]any)
	if resp.StatusCode != 200 || doc["status"] != float64(200) || data == nil || data["id"] != data["id_encoded"] || data["url"] == nil {
		t.Errorf("ImgBB answer: %d %s", resp.StatusCode, raw)
	}
	if !bytes.HasPrefix(raw, []byte(`{"status_code":200,"status":200,`)) {
		t.Errorf("ImgBB envelope order: %s", raw[:40])
	}
}

func TestDuplicatePolicies(t *testing.T) {
	file := readTestdata(t, "small.jpg")
	for _, tc := range []struct {
		policy   ingest.Duplicates
		status   int
		sameID   bool
		wantCode float64
	}{
		{ingest.DuplicatesReuse, 200, true, 0},
		{ingest.DuplicatesAllow, 200, false, 0},
		{ingest.DuplicatesReject, 400, false, 101},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			h := newTestHost(t, Config{Settings: site.Settings{Duplicates: tc.policy}})
			_, doc, raw := h.post(t, nil, "a.jpg", file, nil)
			first := imageOf(t, doc, raw)["id_encoded"]
			status, doc, raw := h.post(t, nil, "b.jpg", file, nil)
			if status != tc.status {
				t.Fatalf("second upload: %d %s", status, raw)
			}
			if tc.status == 400 {
				if _, code := errorOf(t, doc, raw); code != tc.wantCode {
					t.Errorf("code %v", code)
				}
				return
			}
			if second := imageOf(t, doc, raw)["id_encoded"]; (second == first) != tc.sameID {
				t.Errorf("ids %v and %v, same wanted: %v", first, second, tc.sameID)
			}
		})
	}
}

func TestEXIFPolicies(t *testing.T) {
	photo := readTestdata(t, "photo.jpg") // Canon EXIF with GPS
	for _, tc := range []struct {
		name  string
		cfg   Config
		canon bool // the stored file still holds the camera EXIF
	}{
		{"strip is the default", Config{}, false},
		{"keep stores the file untouched", Config{Settings: site.Settings{EXIF: 1}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHost(t, tc.cfg)
			status, doc, raw := h.post(t, nil, "photo.jpg", photo, nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			img := imageOf(t, doc, raw)
			resp, err := http.Get(img["url"].(string))
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := bytes.Contains(stored, []byte("Canon")); got != tc.canon {
				t.Errorf("stored file holds the camera EXIF: %v, want %v", got, tc.canon)
			}
			if tc.canon != bytes.Equal(stored, photo) {
				t.Errorf("stored file identical to the upload: %v", bytes.Equal(stored, photo))
			}
			exif, _ := img["original_exifdata"].(string)
			if tc.canon != strings.Contains(exif, "Canon") {
				t.Errorf("original_exifdata = %.80q", exif)
			}
		})
	}
}

// pngHeader is a PNG whose IHDR declares w x h, with no pixel data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 17)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 6
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr))
	return b.Bytes()
}

func TestRefusedUploadsStoreNothing(t *testing.T) {
	h := newTestHost(t, Config{Settings: site.Settings{MaxUpload: 100_000}})
	for _, tc := range []struct {
		name, file string
		data       []byte
		message    string
		code       float64
	}{
		{"pixel bomb refused from its header", "bomb.png", pngHeader(50000, 50000), "Image too large - max 50 megapixels", 313},
		{"SVG is not an image we take", "x.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "Can't get target upload source info", 310},
		{"HTML named .png", "x.png", []byte("<html><script>alert(1)</script></html>"), "Can't get target upload source info", 310},
		{"empty file", "empty.jpg", []byte{}, "Can't get target upload source info", 310},
		{"over the size limit", "big.png", append(pngHeader(10, 10), make([]byte, 100_001)...), "File too big - max 100 KB", 313},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, doc, raw := h.post(t, nil, tc.file, tc.data, nil)
			if status != 400 {
				t.Fatalf("%d %s", status, raw)
			}
			if msg, code := errorOf(t, doc, raw); msg != tc.message || code != tc.code {
				t.Errorf("error %q (%v), want %q (%v)", msg, code, tc.message, tc.code)
			}
		})
	}
	if imgs, _ := h.store.Images(0, 0, 10); len(imgs) != 0 {
		t.Errorf("refused uploads left %d records", len(imgs))
	}
	entries, _ := os.ReadDir(h.store.ImagesDir())
	tmp, _ := os.ReadDir(filepath.Join(filepath.Dir(h.store.ImagesDir()), "tmp"))
	if len(entries) != 0 || len(tmp) != 0 {
		t.Errorf("refused uploads left files: images %v tmp %v", entries, tmp)
	}
}

func TestPublicURLs(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, tc := range []struct {
		name                string
		cfg                 Config
		hdr                 http.Header
		wantImage, wantView string
	}{
		{"from the request", Config{}, http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example"}}, "http://127.0.0.1:", "http://127.0.0.1:"},
		{"forwarded by a trusted proxy", Config{Site: site.Config{TrustedProxies: trusted}}, http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"pics.example"}}, "https://pics.example/images/", "https://pics.example/image/"},
		{"configured site and CDN", Config{Site: site.Config{BaseURL: "https://pics.example.com/"}, Settings: site.Settings{ImageBaseURL: "https://cdn.example.com/i"}}, nil, "https://cdn.example.com/i/", "https://pics.example.com/image/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHost(t, tc.cfg)
			status, doc, raw := h.post(t, nil, "small.jpg", readTestdata(t, "small.jpg"), tc.hdr)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			img := imageOf(t, doc, raw)
			if u := img["url"].(string); !strings.HasPrefix(u, tc.wantImage) {
				t.Errorf("url %s, want prefix %s", u, tc.wantImage)
			}
			if u := img["url_viewer"].(string); !strings.HasPrefix(u, tc.wantView) {
				t.Errorf("url_viewer %s, want prefix %s", u, tc.wantView)
			}
		})
	}
}

// loopbackOnly is a test dialer that fails the test if it is ever asked to
// reach anything but loopback, whatever the guard under test decided.
func loopbackOnly(t *testing.T, dialed *[]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !ap.Addr().IsLoopback() {
			t.Errorf("fetcher tried to dial %s", addr)
			return nil, errors.New("test: non-loopback dial")
		}
		*dialed = append(*dialed, addr)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func TestURLUploads(t *testing.T) {
	photo := readTestdata(t, "photo.png")
	// The "internet": a server on 127.0.0.2, which this test's policy calls
	// public; 127.0.0.1 stays private.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip("127.0.0.2 not usable here:", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/pic.png", func(w http.ResponseWriter, r *http.Request) { w.Write(photo) })
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://intranet.test:"+r.Host[strings.LastIndexByte(r.Host, ':')+1:]+"/pic.png", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/to-ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://files.test/x.png", http.StatusFound)
	})
	mux.HandleFunc("/huge.png", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 300_000)) })
	public := &http.Server{Handler: mux}
	go public.Serve(ln)
	t.Cleanup(func() { public.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	names := map[string]string{
		"img.test":      "127.0.0.2",
		"intranet.test": "127.0.0.1",
		"metadata.test": "169.254.169.254",
		"rebind.test":   "10.0.0.7",
	}
	var dialed []string
	f := &fetch.Fetcher{
		Allow: func(ip netip.Addr) bool { return ip == netip.MustParseAddr("127.0.0.2") || fetch.IsPublicAddr(ip) },
		Lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			if ip, err := netip.ParseAddr(host); err == nil {
				return []netip.Addr{ip}, nil
			}
			if a, ok := names[host]; ok {
				return []netip.Addr{netip.MustParseAddr(a)}, nil
			}
			return nil, fmt.Errorf("no such host %s", host)
		},
		DialContext: loopbackOnly(t, &dialed),
	}
	u := func(host, path string) string { return fmt.Sprintf("http://%s:%d%s", host, port, path) }

	off := newTestHostDeps(t, Config{}, Deps{Fetcher: f})
	if _, doc, raw := off.post(t, map[string]string{"source": u("img.test", "/pic.png")}, "", nil, nil); doc["error"] == nil {
		t.Fatalf("URL upload while disabled: %s", raw)
	} else if msg, code := errorOf(t, doc, raw); msg != "URL uploading is forbidden" || code != 403 {
		t.Errorf("disabled: %q %v", msg, code)
	}

	h := newTestHostDeps(t, Config{Settings: site.Settings{URLUploads: true, MaxUpload: 200_000}}, Deps{Fetcher: f})
	status, doc, raw := h.post(t, map[string]string{"source": u("img.test", "/pic.png")}, "", nil, nil)
	if status != 200 {
		t.Fatalf("public URL: %d %s", status, raw)
	}
	if img := imageOf(t, doc, raw); img["original_filename"] != "pic.png" || img["title"] != "pic" || img["width"] != "600" {
		t.Errorf("URL upload stored %v %v %v", img["original_filename"], img["title"], img["width"])
	}
	for _, tc := range []struct {
		name, url, message string
	}{
		{"private name", u("intranet.test", "/pic.png"), "Unsupported non-public IP address for upload"},
		{"metadata address literal", "http://169.254.169.254/latest/meta-data/", "Unsupported non-public IP address for upload"},
		{"name resolving to a private address", u("rebind.test", "/pic.png"), "Unsupported non-public IP address for upload"},
		{"redirect to a private host", u("img.test", "/to-private"), "Unsupported non-public IP address for upload"},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:1/x.png", "Unsupported non-public IP address for upload"},
		{"redirect loop", u("img.test", "/loop"), "Can't get target upload source info"},
		{"redirect to ftp", u("img.test", "/to-ftp"), "Unsupported URL scheme `ftp`"},
		{"ftp URL", "ftp://img.test/pic.png", "Unsupported URL scheme `ftp`"},
		{"not found", u("img.test", "/nope.png"), "Can't get target upload source info"},
		{"too big while streaming", u("img.test", "/huge.png"), "File too big - max 200 KB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(dialed)
			status, doc, raw := h.post(t, map[string]string{"source": tc.url}, "", nil, nil)
			if status != 400 {
				t.Fatalf("%d %s", status, raw)
			}
			if msg, _ := errorOf(t, doc, raw); msg != tc.message {
				t.Errorf("error %q, want %q", msg, tc.message)
			}
			for _, a := range dialed[before:] {
				if !strings.HasPrefix(a, "127.0.0.2:") {
					t.Errorf("dialled %s", a)
				}
			}
		})
	}

	// The production dialer refuses loopback in its Control hook, before
	// any connection is made.
	prod := newTestHost(t, Config{Settings: site.Settings{URLUploads: true}})
	_, doc, raw = prod.post(t, map[string]string{"source": fmt.Sprintf("http://localhost:%d/pic.png", port)}, "", nil, nil)
	if msg, _ := errorOf(t, doc, raw); msg != "Unsupported non-public IP address for upload" {
		t.Errorf("production fetcher to localhost: %q", msg)
	}
}

// TestAPIAlbumID checks that album_id puts an API upload into one of the
// key owner's albums, and that another user's album or garbage is ignored.
func TestAPIAlbumID(t *testing.T) {
	h := newTestHost(t, Config{Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}})
	owner, err := h.store.UserByName("tester")
	if err != nil {
		t.Fatal(err)
	}
	mine, err := h.store.CreateAlbum(owner.ID, "Mine", "", store.PrivacyPublic, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.store.CreateUser("other", "password1", false)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := h.store.CreateAlbum(other.ID, "Theirs", "", store.PrivacyPublic, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, albumID string
		want          uint64
	}{
		{"own album", h.store.EncodeID(mine.ID), mine.ID},
		{"another user's album", h.store.EncodeID(theirs.ID), 0},
		{"garbage", "../1", 0},
		{"none", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, doc, raw := h.post(t, map[string]string{"album_id": tc.albumID}, "small.png", readTestdata(t, "small.png"), nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			id, ok := h.store.DecodeID(imageOf(t, doc, raw)["id_encoded"].(string))
			if !ok {
				t.Fatal("bad id_encoded")
			}
			img, err := h.store.Image(id)
			if err != nil {
				t.Fatal(err)
			}
			if img.AlbumID != tc.want {
				t.Fatalf("album %d, want %d", img.AlbumID, tc.want)
			}
		})
	}
}
