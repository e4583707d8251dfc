package codec

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// utf8Cases are strings at the edges of UTF-8: every length of sequence,
// the ranges' first and last values, overlong forms, surrogates, bytes
// cut short, and each at every offset of an 8-byte word.
var utf8Cases = []string{
	"", "a", "plain ASCII text that runs past one word", "21.5 °C", "é", "日本語", "𝄞 clef",
	"\u007f\u0080\u07ff\u0800\uffff\U00010000\U0010ffff",
	"\xa1\x88", "\x88", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x20", "\xe0\x80\x80", "\xe0\xa0",
	"\xed\xa0\x80", "\xef\xbf\xbd", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
	strings.Repeat("x", 300) + "\xff", strings.Repeat("é", 200),
}

func TestValidUTF8AgreesWithStandardLibrary(t *testing.T) {
	for _, c := range utf8Cases {
		for pad := range 9 {
			for _, s := range []string{strings.Repeat("p", pad) + c, c + strings.Repeat("p", pad)} {
				if got, want := validUTF8([]byte(s)), utf8.ValidString(s); got != want {
					t.Errorf("validUTF8(%q) = %v, want %v", s, got, want)
				}
			}
		}
	}
}

func FuzzValidUTF8(f *testing.F) {
	for _, c := range utf8Cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validUTF8(b), utf8.Valid(b); got != want {
			t.Fatalf("validUTF8(% x) = %v, want %v", b, got, want)
		}
	})
}

// BenchmarkValidUTF8 puts validUTF8 beside utf8.Valid on the strings
// payloads carry.
func BenchmarkValidUTF8(b *testing.B) {
	for _, tc := range []struct{ name, s string }{
		{"text-59B", "room kitchen, sensor t1, 21.5 °C, humidity 40 %, battery ok"},
		{"ascii-80B", strings.Repeat("0123456789abcdef", 5)},
		{"ascii-4KiB", strings.Repeat("0123456789abcdef", 256)},
	} {
		s := []byte(tc.s)
		b.Run(tc.name+"/codec", func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				validUTF8(s)
			}
		})
		b.Run(tc.name+"/utf8.Valid", func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				utf8.Valid(s)
			}
		})
	}
}
