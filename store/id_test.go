package store

import (
	"math"
	"testing"
)

func TestIDAlphabet(t *testing.T) {
	for salt, want := range map[string]string{
		"changeme": "FYyQz7hsZjtdITe4GL39AKNOSXp2Bcu5DUiqw16MRb0WkloCgrvPV8mxEHJafn",
		"abcd1234": "5Hm269NRadeoz14FnvMScEIXiyAGh38DQZbjpuxfOYqPTV0CKU7JkrstLlgBWw",
	} {
		if got := idAlphabet(salt); got != want {
			t.Errorf("idAlphabet(%q) = %q, want %q", salt, got, want)
		}
	}
}

// Vectors from spec 4.1, computed by running Chevereto's PHP.
var idVectors = []struct {
	salt    string
	padding uint64
	id      uint64
	enc     string
}{
	{"changeme", 0, 1, "Y"}, {"changeme", 0, 2, "y"}, {"changeme", 0, 61, "n"},
	{"changeme", 0, 62, "YF"}, {"changeme", 0, 63, "YY"}, {"changeme", 0, 1000, "GZ"},
	{"changeme", 0, 3844, "YFF"}, {"changeme", 0, 123456, "Dse"},

	{"changeme", 999, 1, "Gs"}, {"changeme", 999, 2, "De"}, {"changeme", 999, 61, "4Vx"},
	{"changeme", 999, 62, "GsF"}, {"changeme", 999, 63, "GOs"}, {"changeme", 999, 1000, "zdmE"},
	{"changeme", 999, 123456, "ZKupw"},

	{"changeme", 5000, 1, "Y3R"}, {"changeme", 5000, 2, "y13"}, {"changeme", 5000, 62, "Y3RF"},
	{"changeme", 5000, 1000, "Aflt"}, {"changeme", 5000, 3844, "Y3RFF"}, {"changeme", 5000, 123456, "bgyly"},

	{"abcd1234", 0, 1, "H"}, {"abcd1234", 0, 62, "H5"}, {"abcd1234", 0, 123456, "QR4"},
	{"abcd1234", 5000, 1, "HMO"}, {"abcd1234", 5000, 123456, "YKmVm"},
}

func TestEncodeIDVectors(t *testing.T) {
	for _, v := range idVectors {
		if got := EncodeID(v.id, v.salt, v.padding); got != v.enc {
			t.Errorf("EncodeID(%d, %q, %d) = %q, want %q", v.id, v.salt, v.padding, got, v.enc)
		}
		got, ok := DecodeID(v.enc, v.salt, v.padding)
		if !ok || got != v.id {
			t.Errorf("DecodeID(%q, %q, %d) = %d, %v, want %d, true", v.enc, v.salt, v.padding, got, ok, v.id)
		}
	}
}

func TestEncodeIDZeroIsEmpty(t *testing.T) {
	if got := EncodeID(0, "changeme", 5000); got != "" {
		t.Fatalf("EncodeID(0) = %q, want empty", got)
	}
}

func TestIDRoundTrip(t *testing.T) {
	ids := []uint64{1, 2, 61, 62, 999, 5000, 1 << 20, 1<<32 - 1, 1 << 40, math.MaxUint64 / 5000, math.MaxUint64 - 1, math.MaxUint64}
	for _, padding := range []uint64{0, 1, 999, 5000} {
		for _, id := range ids {
			enc := EncodeID(id, "f00dbabe", padding)
			got, ok := DecodeID(enc, "f00dbabe", padding)
			if !ok || got != id {
				t.Errorf("padding %d: DecodeID(EncodeID(%d)=%q) = %d, %v", padding, id, enc, got, ok)
			}
		}
	}
}

func TestDecodeIDRejects(t *testing.T) {
	x := idAlphabet("changeme") // digit 0 is 'F', digit 1 is 'Y'
	for _, tc := range []struct {
		name    string
		s       string
		padding uint64
	}{
		{"empty", "", 0},
		{"empty padded", "", 5000},
		{"unknown character", "Y-R", 5000},
		{"non-ASCII", "Yé", 0},
		{"not a multiple of padding", "Y", 5000},
		{"off by one of a multiple", "Y3S", 5000},
		{"leading zero digit", "FY", 0},
		{"only zero digit", "F", 0},
		{"overflows uint64 unpadded", "YFFFFFFFFFFFFFFFFFFFFF", 0},
		{"overflows 128 bits", "nnnnnnnnnnnnnnnnnnnnnn", 5000},
		{"too long", "YFFFFFFFFFFFFFFFFFFFFFFFFF", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if id, ok := decodeID(tc.s, x, tc.padding); ok {
				t.Errorf("DecodeID(%q, padding %d) = %d, true; want false", tc.s, tc.padding, id)
			}
		})
	}
}

func TestStoreIDUsesInstallSettings(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	if len(s.salt) != 8 || s.padding != defaultIDPadding {
		t.Fatalf("salt %q padding %d; want 8 hex chars and %d", s.salt, s.padding, defaultIDPadding)
	}
	for _, c := range s.salt {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			t.Fatalf("salt %q is not lowercase hex", s.salt)
		}
	}
	enc := s.EncodeID(42)
	if enc != EncodeID(42, s.salt, defaultIDPadding) {
		t.Fatalf("Store.EncodeID differs from EncodeID with the store's salt")
	}
	if id, ok := s.DecodeID(enc); !ok || id != 42 {
		t.Fatalf("Store.DecodeID(%q) = %d, %v", enc, id, ok)
	}
}
