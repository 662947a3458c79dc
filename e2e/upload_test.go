package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// uploadBoundary separates the parts of upload's multipart body.
const uploadBoundary = "------------------------picbedtest0123456789"

// answer is picbed's answer to an upload.
type answer struct {
	status int
	header http.Header
	body   []byte
	// doc is body parsed as Chevereto's JSON; jsonErr says why it could not
	// be (a format=txt answer, a broken one), and doc is then empty.
	doc     apiResponse
	jsonErr error
}

// stored returns an error, naming the answer, unless picbed answered HTTP
// 200 with Chevereto's JSON.
func (a answer) stored() error {
	if a.status != http.StatusOK || a.jsonErr != nil {
		return fmt.Errorf("HTTP %d %s", a.status, a.body)
	}
	return nil
}

// uploadOption changes the request upload sends.
type uploadOption func(*uploadRequest)

type uploadRequest struct {
	client *http.Client
	fields []part
}

// withField adds a form field (format, title, description, ...) between
// the key and the file part.
func withField(name, value string) uploadOption {
	return func(r *uploadRequest) { r.fields = append(r.fields, part{name: name, data: []byte(value)}) }
}

// withClient sends the upload with c instead of http.DefaultClient: one
// with a timeout, or one that does not follow redirects.
func withClient(c *http.Client) uploadOption {
	return func(r *uploadRequest) { r.client = c }
}

// upload posts data to base's /api/1/upload as most clients do: a
// multipart body of the key, the fields of withField and the file part
// "source" named name. It returns picbed's whole answer, or an error when
// there was none (connection refused, or cut before the body ended). It
// needs no testing.T, so goroutines and tests that cut connections on
// purpose call it too.
func upload(base, key, name string, data []byte, opts ...uploadOption) (answer, error) {
	r := uploadRequest{client: http.DefaultClient}
	for _, o := range opts {
		o(&r)
	}
	parts := append([]part{{name: "key", data: []byte(key)}}, r.fields...)
	parts = append(parts, part{name: "source", filename: name, ctype: "application/octet-stream", data: data})
	req, err := http.NewRequest("POST", base+"/api/1/upload", bytes.NewReader(multipartBody(uploadBoundary, parts...)))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+uploadBoundary)
	resp, err := r.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: body}
	if err := json.Unmarshal(body, &a.doc); err != nil {
		a.doc, a.jsonErr = apiResponse{}, fmt.Errorf("answer is not JSON: %v", err)
	}
	return a, nil
}

// apiResponse is the part of a Chevereto answer the tests read.
type apiResponse struct {
	StatusCode int    `json:"status_code"`
	StatusTxt  string `json:"status_txt"`
	Image      struct {
		Name       string `json:"name"`
		Extension  string `json:"extension"`
		Size       string `json:"size"`
		Width      string `json:"width"`
		Height     string `json:"height"`
		Title      string `json:"title"`
		MD5        string `json:"md5"`
		IDEncoded  string `json:"id_encoded"`
		URL        string `json:"url"`
		URLViewer  string `json:"url_viewer"`
		URLShort   string `json:"url_short"`
		DeleteURL  string `json:"delete_url"`
		IsAnimated string `json:"is_animated"`
		Chain      string `json:"chain"`
		EXIF       any    `json:"original_exifdata"`
		Thumb      struct {
			URL string `json:"url"`
		} `json:"thumb"`
		Medium *struct {
			URL string `json:"url"`
		} `json:"medium"`
	} `json:"image"`
	Error *struct {
		Message string `json:"message"`
		Code    int    `json:"code"`
		Context string `json:"context"`
	} `json:"error"`
}

// decodeAPI parses a Chevereto JSON answer.
func decodeAPI(t testing.TB, body []byte) apiResponse {
	t.Helper()
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, body)
	}
	return r
}
