package store

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
	"sort"
)

// idBase is Chevereto's base alphabet before the per-install shuffle.
const idBase = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// idAlphabet returns the shuffled 62-character alphabet for salt (spec 4.1
// step 2-3): each base character is paired with a character of the hex
// SHA-256 of the salt, and the pairs are sorted by that character descending,
// ties by the base character ascending.
func idAlphabet(salt string) string {
	sum := sha256.Sum256([]byte(salt))
	h := hex.EncodeToString(sum[:])
	type pair struct{ a, h byte }
	pairs := make([]pair, len(idBase))
	for i := range pairs {
		pairs[i] = pair{idBase[i], h[i]}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].h != pairs[j].h {
			return pairs[i].h > pairs[j].h
		}
		return pairs[i].a < pairs[j].a
	})
	out := make([]byte, len(pairs))
	for i, p := range pairs {
		out[i] = p.a
	}
	return string(out)
}

// EncodeID returns Chevereto's id_encoded of id (spec 4.1) for an install
// with the given salt and padding (0 = no padding). It returns "" for id 0.
// It is exact for every uint64 id, including ids whose padded value exceeds
// 64 bits.
func EncodeID(id uint64, salt string, padding uint64) string {
	return encodeID(id, idAlphabet(salt), padding)
}

func encodeID(id uint64, x string, padding uint64) string {
	hi, lo := uint64(0), id
	if padding > 0 {
		hi, lo = bits.Mul64(id, padding)
	}
	var buf [24]byte // 62^22 > 2^128
	i := len(buf)
	for hi != 0 || lo != 0 {
		var r uint64
		hi, r = hi/62, hi%62
		lo, r = bits.Div64(r, lo, 62)
		i--
		buf[i] = x[r]
	}
	return string(buf[i:])
}

// DecodeID is the inverse of EncodeID. It reports false for an empty string,
// a character outside the alphabet, a value that is not a multiple of padding,
// a result that does not fit uint64 or is 0, and any non-canonical spelling
// (such as leading zero digits), so each id has exactly one valid string.
func DecodeID(s string, salt string, padding uint64) (uint64, bool) {
	return decodeID(s, idAlphabet(salt), padding)
}

func decodeID(s string, x string, padding uint64) (uint64, bool) {
	if s == "" || len(s) > 22 {
		return 0, false
	}
	var digit [256]int8
	for i := range digit {
		digit[i] = -1
	}
	for i := 0; i < len(x); i++ {
		digit[x[i]] = int8(i)
	}
	var hi, lo uint64
	for i := 0; i < len(s); i++ {
		d := digit[s[i]]
		if d < 0 {
			return 0, false
		}
		// (hi,lo) = (hi,lo)*62 + d, failing on 128-bit overflow.
		h1, l1 := bits.Mul64(lo, 62)
		h2, l2 := bits.Mul64(hi, 62)
		if h2 != 0 {
			return 0, false
		}
		nhi, c := bits.Add64(h1, l2, 0)
		if c != 0 {
			return 0, false
		}
		nlo, c := bits.Add64(l1, uint64(d), 0)
		nhi, c = bits.Add64(nhi, 0, c)
		if c != 0 {
			return 0, false
		}
		hi, lo = nhi, nlo
	}
	id := lo
	if padding > 0 {
		if hi >= padding { // quotient would not fit 64 bits
			return 0, false
		}
		q, r := bits.Div64(hi, lo, padding)
		if r != 0 {
			return 0, false
		}
		id = q
	} else if hi != 0 {
		return 0, false
	}
	if id == 0 || encodeID(id, x, padding) != s {
		return 0, false
	}
	return id, true
}

// EncodeID returns the id_encoded of id with this install's salt and padding.
func (s *Store) EncodeID(id uint64) string { return encodeID(id, s.alphabet, s.padding) }

// DecodeID parses an id_encoded of this install; see the package-level DecodeID.
func (s *Store) DecodeID(str string) (uint64, bool) { return decodeID(str, s.alphabet, s.padding) }
