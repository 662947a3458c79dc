package imagefiles

import (
	"bufio"
	"bytes"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"picbed/store"
)

// sendRaw writes req on a new connection to addr, which it returns with a
// deadline 5 s away.
func sendRaw(t *testing.T, addr, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// rawExchange writes req, one request, on a new connection to addr and
// returns the bytes of the answer (none when the server closes the
// connection without one).
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c := sendRaw(t, addr, req)
	defer c.Close()
	var raw bytes.Buffer
	method, _, _ := strings.Cut(req, " ")
	resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(c, &raw)), &http.Request{Method: method})
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil && raw.Len() > 0 {
		t.Fatalf("%.80q: %v after %.200q", req, err, raw.String())
	}
	return raw.String()
}

// rawUntilClose writes req on a new connection to addr and returns all the
// server sends until it closes the connection.
func rawUntilClose(t *testing.T, addr, req string) string {
	t.Helper()
	c := sendRaw(t, addr, req)
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withoutDate drops the Date header lines, the one part of two answers
// that may differ.
func withoutDate(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\r\n") {
		if !strings.HasPrefix(line, "Date: ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

func hostOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Host
}

// The fast path's answers are byte for byte net/http's answers to the same
// requests (but for Date), for GET and HEAD, 200 and 304, small files from
// memory and large files by sendfile, kept alive or closed; and the fast
// path really answered them.
func TestFastPathAnswersLikeNetHTTP(t *testing.T) {
	site := newTestSite(t)
	plain := site.plain // net/http only

	small := site.url(site.put(t, "small.png"), store.Full)
	large := site.url(site.put(t, "noise300.png"), store.Full)
	if st, err := os.Stat(site.diskPath(large)); err != nil || st.Size() <= smallFileBytes {
		t.Fatalf("large file: %v, %v", st, err)
	}
	for _, u := range []string{small, large} {
		path := u[strings.Index(u, "/images/"):]
		resp, _ := fileReq(t, "GET", plain.URL+path, nil)
		etag, lastMod := resp.Header.Get("Etag"), resp.Header.Get("Last-Modified")
		for _, extra := range []string{
			"",
			"Connection: close\r\n",
			"If-None-Match: " + etag + "\r\n",
			"If-None-Match: \"x\", W/" + etag + "\r\n",
			"If-None-Match: \"other\"\r\n",
			"If-Modified-Since: " + lastMod + "\r\n",
			"If-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT\r\n",
			"User-Agent: Mozilla/5.0\r\nAccept: image/avif,image/webp,*/*\r\nReferer: https://blog.example/post\r\n",
		} {
			for _, method := range []string{"GET", "HEAD"} {
				for _, q := range []string{"", "?v=2"} {
					req := method + " " + path + q + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n"
					before := site.obs.fastAnswers()
					want := rawExchange(t, hostOf(t, plain.URL), req)
					mid := site.obs.fastAnswers()
					got := rawExchange(t, hostOf(t, site.fast.URL), req)
					if site.obs.fastAnswers() != mid+1 || mid != before {
						t.Errorf("%q: fast answers %d -> %d -> %d, want one from the fast front only", req, before, mid, site.obs.fastAnswers())
					}
					if !strings.HasPrefix(want, "HTTP/1.1 200") && !strings.HasPrefix(want, "HTTP/1.1 304") {
						t.Fatalf("%q: net/http answered %.40q", req, want)
					}
					if withoutDate(got) != withoutDate(want) {
						t.Errorf("%q:\nfast path  %.600q\nnet/http   %.600q", req, got, want)
					}
					if !strings.Contains(got, "\r\nDate: ") {
						t.Errorf("%q: no Date", req)
					}
				}
			}
		}
	}
}

// Requests the fast path does not take go to net/http with every byte
// read, on the same connection, which net/http then keeps serving.
func TestFastPathHandsOff(t *testing.T) {
	site := newTestSite(t)
	url := site.url(site.put(t, "small.png"), store.Full)
	path := url[strings.Index(url, Prefix):]
	addr := hostOf(t, site.fast.URL)
	full, err := os.ReadFile(site.diskPath(url))
	if err != nil {
		t.Fatal(err)
	}
	get := "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"

	// Pipelined on one connection: fast, Range (handed off), then two that
	// net/http answers, the last closing.
	fast0, hand0 := site.obs.fastAnswers(), site.obs.handOffs()
	out := rawUntilClose(t, addr, get+
		"GET "+path+" HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n"+
		get+
		"GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(strings.NewReader(out))
	for i, want := range []int{200, 206, 200, 200} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v (all: %.300q)", i, err, out)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("answer %d: %s, want %d", i, resp.Status, want)
		}
		wantBody := full
		if want == 206 {
			wantBody = full[:10]
		}
		if !bytes.Equal(body, wantBody) {
			t.Errorf("answer %d: %d bytes, want %d", i, len(body), len(wantBody))
		}
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("%d bytes after the last answer", len(rest))
	}
	if f, hd := site.obs.fastAnswers()-fast0, site.obs.handOffs()-hand0; f != 1 || hd != 1 {
		t.Errorf("fast answers %d, hand-offs %d; want 1 and 1", f, hd)
	}

	// Each of these is net/http's to answer, with its own status.
	for _, tc := range []struct {
		req    string
		status string
	}{
		{"GET /images/2026/01/01/missing.png HTTP/1.1\r\nHost: x\r\n\r\n", "404"},
		{"GET /images/../picbed.db HTTP/1.1\r\nHost: x\r\n\r\n", "404"},
		{"GET /images/%32026/01/01/a.png HTTP/1.1\r\nHost: x\r\n\r\n", "404"},
		{"GET " + path + " HTTP/1.0\r\n\r\n", "200"},
		{"GET " + path + " HTTP/1.1\r\n\r\n", "400"},                          // no Host
		{"GET " + path + " HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "400"},    // two
		{"GET " + path + " HTTP/1.1\nHost: x\n\n", "200"},                     // bare LF
		{"GET " + path + " HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", "200"}, // obs-fold
		{"GET " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", "200"},
		{"GET " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "200"},
		{"GET " + path + " HTTP/1.1\r\nHost: x\r\nIf-Match: \"no\"\r\n\r\n", "412"},
		{"GET " + path + " HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("a", 5000) + "\r\n\r\n", "200"},
		{"POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "405"},
		{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "200"},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "303"},
	} {
		fast0 := site.obs.fastAnswers()
		out := rawExchange(t, addr, tc.req)
		if !strings.HasPrefix(out, "HTTP/1.1 "+tc.status) && !strings.HasPrefix(out, "HTTP/1.0 "+tc.status) {
			t.Errorf("%.80q: %.60q, want %s", tc.req, out, tc.status)
		}
		if n := site.obs.fastAnswers() - fast0; n != 0 {
			t.Errorf("%.80q: answered by the fast path", tc.req)
		}
	}

	// An upload (multipart, a body) goes through whole on a connection that
	// had image requests answered by the fast path first.
	client := &http.Client{}
	fast0 = site.obs.fastAnswers()
	for range 2 {
		resp, err := client.Get(site.fast.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := site.obs.fastAnswers() - fast0; n != 2 {
		t.Fatalf("%d of the two GETs answered by the fast path", n)
	}
	photo := readTestdata(t, "photo.jpg")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("source", "photo.jpg")
	part.Write(photo)
	mw.Close()
	resp, err := client.Post(site.fast.URL+"/upload", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != strconv.Itoa(len(photo)) {
		t.Fatalf("upload after fast answers: %s %q, want 200 %d", resp.Status, got, len(photo))
	}
}

// A request head that stops half way is cut off after the header timeout;
// an idle connection after the idle timeout.
func TestFastPathTimeouts(t *testing.T) {
	site := newTestSite(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := NewListener(ln, site.files, 400*time.Millisecond, 200*time.Millisecond)
	hs := &http.Server{Handler: site.files}
	go hs.Serve(fl)
	t.Cleanup(func() { hs.Close(); fl.Wait(5 * time.Second) })

	for _, send := range []string{"GET /images/2026/01/", ""} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, send)
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 100))
		if err != io.EOF || n != 0 {
			t.Errorf("after %q: read %d, %v; want the connection closed", send, n, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("after %q: closed after %v", send, d)
		}
		c.Close()
	}
}

// FuzzParseImageRequest: whatever parseImageRequest accepts, net/http reads
// as the same request: same method and path, the same validators and
// Connection: close, one Host, and no body. So taking a request on the fast
// path never changes its meaning.
func FuzzParseImageRequest(f *testing.F) {
	for _, s := range []string{
		"GET /images/2026/11/27/a.png HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /images/2026/11/27/a.th.jpg?v=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nIf-None-Match: \"1-2\"\r\nConnection: close\r\n\r\n",
		"GET /images/2026/11/27/a.webp HTTP/1.1\r\nhost: [::1]:80\r\nIf-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT\r\nConnection: keep-alive, close\r\n\r\n",
		"GET /images/2026/11/27/a.gif HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"GET /images/2026/11/27/a.gif HTTP/1.1\r\nHost: x\r\nX:\t y \r\n\r\n",
		"POST /api/1/upload HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, n, st := parseImageRequest(b)
		if st != parsedRequest {
			if n != 0 {
				t.Fatalf("status %d with n %d", st, n)
			}
			return
		}
		if n > len(b) || !bytes.HasSuffix(b[:n], []byte("\r\n\r\n")) {
			t.Fatalf("head length %d of %d bytes", n, len(b))
		}
		hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:n])))
		if err != nil {
			t.Fatalf("accepted %q, which net/http refuses: %v", b[:n], err)
		}
		wantMethod := "GET"
		if req.head {
			wantMethod = "HEAD"
		}
		switch {
		case hr.Method != wantMethod:
			t.Fatalf("%q: method %q, net/http %q", b[:n], wantMethod, hr.Method)
		case hr.URL.Path != "/images/"+req.path || hr.URL.RawPath != "":
			t.Fatalf("%q: path %q, net/http %q (raw %q)", b[:n], req.path, hr.URL.Path, hr.URL.RawPath)
		case hr.ProtoMajor != 1 || hr.ProtoMinor != 1:
			t.Fatalf("%q: net/http reads %s", b[:n], hr.Proto)
		case hr.Header.Get("If-None-Match") != req.inm:
			t.Fatalf("%q: If-None-Match %q, net/http %q", b[:n], req.inm, hr.Header.Get("If-None-Match"))
		case hr.Header.Get("If-Modified-Since") != req.ims:
			t.Fatalf("%q: If-Modified-Since %q, net/http %q", b[:n], req.ims, hr.Header.Get("If-Modified-Since"))
		case hr.Close != req.close:
			t.Fatalf("%q: close %v, net/http %v", b[:n], req.close, hr.Close)
		case hr.ContentLength != 0 || len(hr.TransferEncoding) != 0:
			t.Fatalf("%q: net/http reads a body", b[:n])
		case len(hr.Header.Values("Host")) != 0 || hr.Host == "":
			t.Fatalf("%q: Host %q", b[:n], hr.Host)
		}
		for _, k := range []string{"Range", "If-Range", "If-Match", "If-Unmodified-Since", "Expect", "Upgrade"} {
			if _, ok := hr.Header[k]; ok {
				t.Fatalf("%q: accepted with %s", b[:n], k)
			}
		}
		if f, err := store.ParseImageFile(req.path); err != nil || f != req.file {
			t.Fatalf("%q: path %q, %+v", b[:n], req.path, req.file)
		}
	})
}
