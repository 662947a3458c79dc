package e2e

// Hand-built HTTP requests: multipart bodies, and sending a request with
// the whole answer read.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// part is one part of a hand-built multipart body.
type part struct {
	name, filename, ctype string
	data                  []byte
}

// multipartBody writes parts in the given order, with the boundary given,
// so a test can send what a particular client sends.
func multipartBody(boundary string, parts ...part) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=%q", boundary, p.name)
		if p.filename != "" {
			fmt.Fprintf(&b, "; filename=%q", p.filename)
		}
		b.WriteString("\r\n")
		if p.ctype != "" {
			fmt.Fprintf(&b, "Content-Type: %s\r\n", p.ctype)
		}
		b.WriteString("\r\n")
		b.Write(p.data)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

func mustRequest(t testing.TB, method, u string, body []byte, header map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

// get fetches u and returns the answer and its body.
func get(t testing.TB, u string) (*http.Response, []byte) {
	t.Helper()
	return do(t, mustRequest(t, "GET", u, nil, nil))
}

// do sends req and returns the status and body.
func do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
