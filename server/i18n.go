package server

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/text/language"
)

// The languages of the UI. English strings are the translation keys, so
// English needs no table.
const (
	langEN = "en"
	langZH = "zh-CN"
)

// langCookie remembers the language a visitor picked.
const langCookie = "pb_lang"

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// catalog holds the translations of ui/i18n/*.json. Each file maps English
// strings to Simplified Chinese ones; a key defined twice is an error, so
// the files can be owned by different parts of the UI.
type catalog struct {
	zh     map[string]string
	zhJSON string // zh encoded for the pages' scripts

	mu      sync.Mutex
	missing map[string]bool // keys asked for in Chinese that have no translation
}

func loadCatalog(ui fs.FS) (*catalog, error) {
	c := &catalog{zh: map[string]string{}, missing: map[string]bool{}}
	names, err := fs.Glob(ui, "i18n/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		data, err := fs.ReadFile(ui, name)
		if err != nil {
			return nil, err
		}
		var table map[string]string
		if err := json.Unmarshal(data, &table); err != nil {
			return nil, fmt.Errorf("server: translations %s: %w", name, err)
		}
		for k, v := range table {
			if _, dup := c.zh[k]; dup {
				return nil, fmt.Errorf("server: translations %s: %q is also defined in another file", path.Base(name), k)
			}
			if strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("server: translations %s: %q has an empty translation", path.Base(name), k)
			}
			c.zh[k] = v
		}
	}
	b, err := json.Marshal(c.zh)
	if err != nil {
		return nil, err
	}
	c.zhJSON = string(b)
	return c, nil
}

// Missing returns the keys asked for in Chinese without a translation, sorted.
func (c *catalog) Missing() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.missing))
	for k := range c.missing {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// translate returns key in lang with {name} placeholders replaced by args,
// given as name, value pairs.
func (c *catalog) translate(lang, key string, args ...any) string {
	s := key
	if lang == langZH {
		if v, ok := c.zh[key]; ok {
			s = v
		} else {
			c.mu.Lock()
			c.missing[key] = true
			c.mu.Unlock()
		}
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return s
}

// tableJSON returns what the page scripts need to translate in lang, as
// JSON: "{}" for English, the whole table for Chinese (a few kB), encoded
// once at load rather than on every page.
func (c *catalog) tableJSON(lang string) string {
	if lang == langZH {
		return c.zhJSON
	}
	return "{}"
}

// pickLang chooses the UI language of r: the remembered choice, else the
// best match of Accept-Language, else English.
func pickLang(r *http.Request) string {
	if ck, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(ck.Value); ok {
			return l
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return langEN
	}
	_, idx, conf := langMatcher.Match(tags...)
	if idx == 1 && conf >= language.Low {
		return langZH
	}
	return langEN
}

// parseLang accepts the language codes the switcher sends.
func parseLang(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "en":
		return langEN, true
	case "zh-cn", "zh", "zh-hans":
		return langZH, true
	}
	return "", false
}
