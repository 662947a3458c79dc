package e2e

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// uploaded is an image answered by picbed, with when it was asked for and
// when it was answered.
type uploaded struct {
	r                 apiResponse
	started, answered time.Time
}

// slowWriter passes writes on in small pieces with a pause between them,
// so that a backup read through it lasts long enough for uploads to
// happen meanwhile.
type slowWriter struct {
	w     io.Writer
	pause time.Duration
}

func (s slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 32<<10)
		m, err := s.w.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
		time.Sleep(s.pause)
	}
	return n, nil
}

// TestBackupWhileUploading takes a backup through the running server while
// clients keep uploading, restores it into a new data dir and serves it:
// everything answered before the backup started is there with its bytes,
// links and key; everything answered during it is there completely or not
// at all.
func TestBackupWhileUploading(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "carol")
	in := startPicbed(t, data, "--duplicates", "allow", "--flood-limits", "off")
	names := []string{"photo.png", "photo.jpg", "anim.gif", "image.webp", "noise300.png", "small.jpg", "image.bmp"}
	fixtures := map[string][]byte{}
	for _, name := range names {
		fixtures[name] = fixture(t, name)
	}
	var before []uploaded
	for round := 0; round < 3; round++ {
		for _, name := range names {
			a, err := upload(in.base, key, name, fixtures[name])
			if err == nil {
				err = a.stored()
			}
			if err != nil {
				t.Fatalf("upload %s: %v", name, err)
			}
			before = append(before, uploaded{r: a.doc, answered: time.Now()})
		}
	}

	// Uploaders run until the backup is done.
	var (
		mu     sync.Mutex
		during []uploaded
		errs   []error
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := names[(i+w)%len(names)]
				started := time.Now()
				a, err := upload(in.base, key, name, fixtures[name])
				if err == nil {
					err = a.stored()
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("upload %s: %v", name, err))
				} else {
					during = append(during, uploaded{r: a.doc, started: started, answered: time.Now()})
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)

	// The backup streams to standard output, read slowly.
	backup := filepath.Join(t.TempDir(), "picbed-backup.tar.gz")
	out, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(picbedBin, "backup", "-", "--gzip", "--data", data)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = slowWriter{out, 10 * time.Millisecond}, &stderr
	backupStart := time.Now()
	err = cmd.Run()
	backupEnd := time.Now()
	out.Close()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("picbed backup: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "backup -: ") {
		t.Errorf("backup report: %q", stderr.String())
	}
	if len(errs) > 0 {
		t.Fatalf("%d uploads failed during the backup, first: %v", len(errs), errs[0])
	}
	overlapping := 0
	for _, u := range during {
		if u.answered.After(backupStart) && u.started.Before(backupEnd) {
			overlapping++
		}
	}
	t.Logf("backup took %v; %d uploads answered while it ran (%d in all)", backupEnd.Sub(backupStart).Round(time.Millisecond), overlapping, len(during))
	if overlapping < 3 {
		t.Fatalf("only %d uploads overlapped the backup: it did not run while uploading", overlapping)
	}

	// Restore: refused over a data dir in use, done into a new one.
	if _, err := picbedErr("", "restore", backup, "--data", data); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore over the live data dir: %v", err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if out := picbed(t, "", "restore", backup, "--data", restored); !strings.HasPrefix(out, "restored ") {
		t.Errorf("restore printed %q", out)
	}
	in.stop()
	in2 := startPicbed(t, restored)
	rebase := func(u string) string { return strings.Replace(u, in.base, in2.base, 1) }

	// Every image answered before the backup: bytes, variants, viewer and
	// delete page.
	for _, u := range before {
		resp, body := get(t, rebase(u.r.Image.URL))
		if resp.StatusCode != 200 || fmt.Sprintf("%x", md5.Sum(body)) != u.r.Image.MD5 {
			t.Errorf("%s after restore: %d, md5 %x, want %s", u.r.Image.URL, resp.StatusCode, md5.Sum(body), u.r.Image.MD5)
		}
		links := []string{u.r.Image.Thumb.URL, u.r.Image.URLViewer, u.r.Image.URLShort, u.r.Image.DeleteURL}
		if u.r.Image.Medium != nil {
			links = append(links, u.r.Image.Medium.URL)
		}
		for _, l := range links {
			if resp, _ := get(t, rebase(l)); resp.StatusCode != 200 {
				t.Errorf("%s after restore: %d", l, resp.StatusCode)
			}
		}
	}
	// Images answered during the backup: all their links work, or none.
	present := 0
	for _, u := range during {
		links := []string{u.r.Image.URL, u.r.Image.Thumb.URL, u.r.Image.URLViewer, u.r.Image.DeleteURL}
		if u.r.Image.Medium != nil {
			links = append(links, u.r.Image.Medium.URL)
		}
		var codes []int
		for _, l := range links {
			resp, body := get(t, rebase(l))
			c := resp.StatusCode
			codes = append(codes, c)
			if l == u.r.Image.URL && c == 200 && fmt.Sprintf("%x", md5.Sum(body)) != u.r.Image.MD5 {
				t.Errorf("%s restored with other bytes", l)
			}
		}
		all := func(want int) bool {
			for _, c := range codes {
				if c != want {
					return false
				}
			}
			return true
		}
		switch {
		case all(200):
			present++
		case all(404):
			if u.answered.Before(backupStart) {
				t.Errorf("%s was answered before the backup started but is not in it", u.r.Image.URL)
			}
		default:
			t.Errorf("image %s half restored: %v for %v", u.r.Image.IDEncoded, codes, links)
		}
	}
	t.Logf("%d of the %d images uploaded around the backup are in it", present, len(during))
	// No file without a record: every restored file belongs to an image
	// that is served.
	files := 0
	walkImages(t, restored, func(string) { files++ })
	wantFiles := 0
	for _, u := range append(append([]uploaded{}, before...), during...) {
		if resp, _ := get(t, rebase(u.r.Image.URL)); resp.StatusCode == 200 {
			wantFiles += 2
			if u.r.Image.Medium != nil {
				wantFiles++
			}
		}
	}
	if files != wantFiles {
		t.Errorf("restored tree has %d files, the restored images have %d", files, wantFiles)
	}

	// The key works, and delete links delete.
	if a, err := upload(in2.base, key, "small.png", fixture(t, "small.png")); err != nil || a.stored() != nil {
		t.Errorf("upload with the old key after restore: %v %v", err, a.stored())
	}
	checkDeleteLink(t, rebase(before[0].r.Image.DeleteURL), rebase(before[0].r.Image.URL), rebase(before[0].r.Image.Thumb.URL))
}

// TestBackupOffline backs up a data dir no server runs on (the store is
// opened directly) and restores it.
func TestBackupOffline(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "dave")
	in := startPicbed(t, data)
	a, err := upload(in.base, key, "photo.jpg", fixture(t, "photo.jpg"))
	if err == nil {
		err = a.stored()
	}
	if err != nil {
		t.Fatalf("upload photo.jpg: %v", err)
	}
	img := a.doc
	in.stop()
	backup := filepath.Join(t.TempDir(), "b.tar")
	if out := picbed(t, "", "backup", backup, "--data", data); !strings.Contains(out, "1 images, 3 files") {
		t.Errorf("backup printed %q", out)
	}
	if _, err := os.Stat(backup + ".partial"); !os.IsNotExist(err) {
		t.Errorf("backup left %s.partial", backup)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode: %v %v", fi, err)
	}
	restored := t.TempDir() // empty: allowed
	if out := picbed(t, "", "restore", backup, "--data", restored); !strings.HasPrefix(out, "restored 1 images, 3 files") {
		t.Errorf("restore printed %q", out)
	}
	in2 := startPicbed(t, restored)
	resp, body := get(t, strings.Replace(img.Image.URL, in.base, in2.base, 1))
	if resp.StatusCode != 200 || fmt.Sprintf("%x", md5.Sum(body)) != img.Image.MD5 {
		t.Errorf("restored image: %d %x", resp.StatusCode, md5.Sum(body))
	}
	// A cut backup is refused and leaves nothing.
	raw, _ := os.ReadFile(backup)
	cut := filepath.Join(t.TempDir(), "cut.tar")
	os.WriteFile(cut, raw[:len(raw)/2], 0o600)
	dir := filepath.Join(t.TempDir(), "new")
	if _, err := picbedErr("", "restore", cut, "--data", dir); err == nil {
		t.Error("a cut backup was restored")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the failed restore left %s", dir)
	}
}
