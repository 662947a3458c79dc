package e2e

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// clientCase is the upload request of one real client, with its own
// boundary style, part order, headers and way of sending the key.
type clientCase struct {
	name    string
	file    string
	request func(t testing.TB, base, key string, data []byte) *http.Request
	// what the stored image must be
	mime          string
	width, height int
	medium        bool
}

var clientCases = []clientCase{
	{
		name: "PicGo chevereto plugin: multipart key, format, source; UA PicGo",
		file: "photo.jpg", mime: "image/jpeg", width: 1024, height: 640, medium: true,
		request: func(t testing.TB, base, key string, data []byte) *http.Request {
			bd := "--------------------------27d8deb93954def848a0d599"
			return mustRequest(t, "POST", base+"/api/1/upload", multipartBody(bd,
				part{name: "key", data: []byte(key)},
				part{name: "format", data: []byte("json")},
				part{name: "source", filename: "photo.jpg", ctype: "image/jpeg", data: data},
			), map[string]string{
				"Content-Type":    "multipart/form-data; boundary=" + bd,
				"User-Agent":      "PicGo",
				"Accept":          "application/json, text/plain, */*",
				"Accept-Encoding": "gzip, compress, deflate, br",
			})
		},
	},
	{
		name: "PicGo cheveretov4 plugin in V4 mode: X-API-Key header, format, source",
		file: "photo.png", mime: "image/png", width: 600, height: 375, medium: true,
		request: func(t testing.TB, base, key string, data []byte) *http.Request {
			bd := "--------------------------5f0e1b2c3d4a5b6c7d8e9f00"
			return mustRequest(t, "POST", base+"/api/1/upload/", multipartBody(bd,
				part{name: "format", data: []byte("json")},
				part{name: "description", data: []byte("from PicGo")},
				part{name: "source", filename: "photo.png", ctype: "image/png", data: data},
			), map[string]string{
				"Content-Type": "multipart/form-data; boundary=" + bd,
				"User-Agent":   "PicGo",
				"X-API-Key":    key,
			})
		},
	},
	{
		name: "ShareX built-in Chevereto uploader: key, format, source; no Accept",
		file: "anim.gif", mime: "image/gif", width: 600, height: 400, medium: true,
		request: func(t testing.TB, base, key string, data []byte) *http.Request {
			bd := "--------------------8de2f1a6b3c4d5e"
			return mustRequest(t, "POST", base+"/api/1/upload", multipartBody(bd,
				part{name: "key", data: []byte(key)},
				part{name: "format", data: []byte("json")},
				part{name: "source", filename: "anim.gif", ctype: "image/gif", data: data},
			), map[string]string{
				"Content-Type": "multipart/form-data; boundary=" + bd,
				"User-Agent":   "ShareX/17.0.0",
			})
		},
	},
	{
		name: "ShareX .sxcu custom uploader: X-API-Key header, file part only",
		// A lossy WebP: its lossless medium would outweigh it, so it has none.
		file: "image.webp", mime: "image/webp", width: 700, height: 508,
		request: func(t testing.TB, base, key string, data []byte) *http.Request {
			bd := "--------------------8de2f1a6b3c4d5f"
			return mustRequest(t, "POST", base+"/api/1/upload", multipartBody(bd,
				part{name: "source", filename: "image.webp", ctype: "image/webp", data: data},
			), map[string]string{
				"Content-Type": "multipart/form-data; boundary=" + bd,
				"User-Agent":   "ShareX/17.0.0",
				"X-API-Key":    key,
			})
		},
	},
	{
		name: "Obsidian (kkzzhizhou): urlencoded key and base64 source, no format",
		file: "small.jpg", mime: "image/jpeg", width: 150, height: 103,
		request: func(t testing.TB, base, key string, data []byte) *http.Request {
			form := url.Values{"key": {key}, "source": {base64.StdEncoding.EncodeToString(data)}}
			return mustRequest(t, "POST", base+"/api/1/upload", []byte(form.Encode()), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
				"Accept":       "application/json, text/plain, */*",
			})
		},
	},
	{
		name: "Obsidian (cxf-boluo): fixed WebKit boundary, one source part, X-API-Key",
		file: "small.png", mime: "image/png", width: 150, height: 103,
		request: func(t testing.TB, base, key string, data []byte) *http.Request {
			bd := "----WebKitFormBoundary7MA4YWxkTrZu0gW"
			return mustRequest(t, "POST", base+"/api/1/upload", multipartBody(bd,
				part{name: "source", filename: "Pasted image 20261127.png", ctype: "image/png", data: data},
			), map[string]string{
				"Content-Type": "multipart/form-data; boundary=" + bd,
				"X-API-Key":    key,
			})
		},
	},
	{
		name: "Typora typora2chevereto: urlencoded key, base64 source, format=json",
		file: "noise300.png", mime: "image/png", width: 300, height: 250,
		request: func(t testing.TB, base, key string, data []byte) *http.Request {
			form := "key=" + url.QueryEscape(key) + "&source=" + url.QueryEscape(base64.StdEncoding.EncodeToString(data)) + "&format=json"
			return mustRequest(t, "POST", base+"/api/1/upload", []byte(form), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded",
			})
		},
	},
	{
		name: "imgbb-uploader Chevereto mode: urlencoded source then key, no format, no User-Agent",
		file: "image.bmp", mime: "image/png", width: 300, height: 188,
		request: func(t testing.TB, base, key string, data []byte) *http.Request {
			form := "source=" + url.QueryEscape(base64.StdEncoding.EncodeToString(data)) + "&key=" + url.QueryEscape(key)
			req := mustRequest(t, "POST", base+"/api/1/upload", []byte(form), map[string]string{
				"Content-Type": "application/x-www-form-urlencoded",
				"Accept":       "application/json",
			})
			req.Header["User-Agent"] = []string{""}
			return req
		},
	},
	{
		name: "curl -F source=@file with the key in the query string",
		file: "photo.jpg", mime: "image/jpeg", width: 1024, height: 640, medium: true,
		request: func(t testing.TB, base, key string, data []byte) *http.Request {
			bd := "------------------------a1b2c3d4e5f60718"
			return mustRequest(t, "POST", base+"/api/1/upload?key="+url.QueryEscape(key)+"&format=json", multipartBody(bd,
				part{name: "source", filename: "photo-curl.jpg", ctype: "image/jpeg", data: append(slices.Clip(data), 0)},
			), map[string]string{
				"Content-Type": "multipart/form-data; boundary=" + bd,
				"User-Agent":   "curl/7.88.1",
			})
		},
	},
}

// TestClients sends each client's real request to the real binary and
// follows every URL of the answer: the image, its thumbnail, its medium, the
// viewer and the delete link.
func TestClients(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "alice")
	in := startPicbed(t, data)
	for _, tc := range clientCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.request(t, in.base, key, fixture(t, tc.file)))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %s: %s", resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
				t.Errorf("Content-Type %q", ct)
			}
			r := decodeAPI(t, body)
			if r.StatusCode != 200 || r.StatusTxt != "OK" {
				t.Fatalf("status_code %d %q: %s", r.StatusCode, r.StatusTxt, body)
			}
			img := r.Image
			fetchImage(t, img.URL, tc.mime, tc.width, tc.height)
			fetchImage(t, img.Thumb.URL, tc.mime, 160, 160)
			if tc.medium {
				if img.Medium == nil {
					t.Fatalf("no medium for a %dx%d image", tc.width, tc.height)
				}
				fetchImage(t, img.Medium.URL, tc.mime, 500, int(float64(tc.height)*500/float64(tc.width)+0.5))
			} else if img.Medium != nil {
				t.Errorf("medium %s for a %dpx wide image", img.Medium.URL, tc.width)
			}
			if !strings.HasPrefix(img.URLViewer, in.base+"/image/") || !strings.HasSuffix(img.URLViewer, img.IDEncoded) {
				t.Errorf("url_viewer %q", img.URLViewer)
			}
			resp, page := get(t, img.URLViewer)
			if resp.StatusCode != 200 || !bytes.Contains(page, []byte(`property="og:image" content="`+img.URL+`"`)) {
				t.Errorf("viewer %s: %s, og:image missing:\n%s", img.URLViewer, resp.Status, page)
			}
			checkDeleteLink(t, img.DeleteURL, img.URL, img.Thumb.URL)
		})
	}
}
