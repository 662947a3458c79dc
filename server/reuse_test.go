package server

import (
	"net/http"
	"testing"
	"time"

	"picbed/store"
)

// TestReuseLeavesTheImageWhereItIs: with --duplicates reuse, the same bytes
// uploaded again with another album's id answer the stored image and leave
// it in its album. Before, the image moved: out of a private album into a
// public one, its viewer page public.
func TestReuseLeavesTheImageWhereItIs(t *testing.T) {
	h := newTestHost(t, Config{})
	u, _ := h.store.UserByName("tester")
	private, _ := h.store.CreateAlbum(u.ID, "Private", "", store.PrivacyPrivate, "")
	public, _ := h.store.CreateAlbum(u.ID, "Public", "", store.PrivacyPublic, "")
	png := readTestdata(t, "small.png")
	_, doc, raw := h.post(t, map[string]string{"album_id": h.store.EncodeID(private.ID)}, "d1.png", png, nil)
	first := imageOf(t, doc, raw)
	viewer := first["url_viewer"].(string)
	if code := getStatus(t, viewer); code != http.StatusNotFound {
		t.Fatalf("a private album's image is shown to a stranger: %d", code)
	}

	// API and web upload alike.
	_, doc, raw = h.post(t, map[string]string{"album_id": h.store.EncodeID(public.ID)}, "d1.png", png, nil)
	if again := imageOf(t, doc, raw); again["id_encoded"] != first["id_encoded"] {
		t.Fatalf("reuse answered another image: %v, want %v", again["id_encoded"], first["id_encoded"])
	}
	mustAdmin(t, h)
	w := newWebClient(t, h)
	w.login("tester", "password1", false)
	w.get("/")
	w.webUpload(w.csrf, map[string]string{"album_id": h.store.EncodeID(public.ID)}, "d1.png", png)

	id, _ := h.store.DecodeID(first["id_encoded"].(string))
	img, err := h.store.Image(id)
	if err != nil || img.AlbumID != private.ID {
		t.Fatalf("after two reuses into the public album the image is in album %d (%v), want %d", img.AlbumID, err, private.ID)
	}
	if code := getStatus(t, viewer); code != http.StatusNotFound {
		t.Errorf("the private image's viewer page answers %d to a stranger after the reuse", code)
	}
	if a, _ := h.store.Album(public.ID); a.ImageCount != 0 {
		t.Errorf("the public album holds %d images", a.ImageCount)
	}
}

// TestReuseKeepsTheLaterExpiry: a reuse never leaves the uploader with
// less than the new upload asked for: the later expiry wins, and none beats
// any. Before, uploading d1.png with expiration=PT5M and then again without
// one answered the same id with the same expiry, and five minutes later
// the image was gone.
func TestReuseKeepsTheLaterExpiry(t *testing.T) {
	h := newTestHost(t, Config{})
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	h.srv.now = func() time.Time { return now }
	expiry := func(name string, file []byte, exp string) time.Time {
		t.Helper()
		fields := map[string]string{}
		if exp != "" {
			fields["expiration"] = exp
		}
		_, doc, raw := h.post(t, fields, name, file, nil)
		id, _ := h.store.DecodeID(imageOf(t, doc, raw)["id_encoded"].(string))
		img, err := h.store.Image(id)
		if err != nil {
			t.Fatal(err)
		}
		return img.Expires
	}
	a := readTestdata(t, "small.png")
	if got := expiry("d1.png", a, "PT5M"); !got.Equal(now.Add(5 * time.Minute)) {
		t.Fatalf("first upload expires %v", got)
	}
	if got := expiry("d1.png", a, ""); !got.IsZero() {
		t.Errorf("the same bytes without expiration: still expires %v, want never", got)
	}
	if got := expiry("d1.png", a, "PT5M"); !got.IsZero() {
		t.Errorf("an image kept forever got an expiry %v from a reuse", got)
	}

	b := readTestdata(t, "small.jpg")
	expiry("d2.jpg", b, "P1D")
	if got := expiry("d2.jpg", b, "PT1H"); !got.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("a shorter expiry shortened the image's: %v", got)
	}
	if got := expiry("d2.jpg", b, "P3D"); !got.Equal(now.Add(72 * time.Hour)) {
		t.Errorf("a longer expiry did not extend the image's: %v", got)
	}
	if n, _ := h.store.CountImages(userID(t, h, "tester")); n != 2 {
		t.Errorf("%d images stored, want 2 (every other upload was a reuse)", n)
	}
}
