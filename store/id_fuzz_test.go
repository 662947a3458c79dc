package store

import "testing"

// FuzzDecodeID: DecodeID accepts exactly the strings EncodeID produces, for any salt and
// padding: what it decodes re-encodes to the same string, and every id round-trips.
func FuzzDecodeID(f *testing.F) {
	for _, s := range []string{"", "a", "abc", "Xy3", "000", "zzzzzzzzzzzzzzzzzzzzzz", "zzzzzzzzzzzzzzzzzzzzzzz", "a-b", "é", "../1"} {
		f.Add(s, "4a5e2c1d", uint64(5000), uint64(1))
	}
	f.Add("b", "", uint64(0), ^uint64(0))
	f.Add("Xy3", "salt", uint64(1), uint64(1)<<63)
	f.Add("Xy3", "salt", ^uint64(0), ^uint64(0))
	f.Fuzz(func(t *testing.T, s, salt string, padding, id uint64) {
		if got, ok := DecodeID(s, salt, padding); ok {
			if got == 0 || EncodeID(got, salt, padding) != s {
				t.Fatalf("DecodeID(%q, %q, %d) = %d, which encodes to %q", s, salt, padding, got, EncodeID(got, salt, padding))
			}
		}
		if id == 0 {
			if EncodeID(0, salt, padding) != "" {
				t.Fatalf("EncodeID(0) = %q", EncodeID(0, salt, padding))
			}
			return
		}
		enc := EncodeID(id, salt, padding)
		if got, ok := DecodeID(enc, salt, padding); !ok || got != id {
			t.Fatalf("EncodeID(%d, %q, %d) = %q, decodes to %d %v", id, salt, padding, enc, got, ok)
		}
	})
}
