package directory_test

import (
	"testing"
	"unicode/utf8"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestFold(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"case", "Acme", "acme"},
		{"spaces at the ends and inside", "  Acme \t  Corp\n", "acme corp"},
		{"Vietnamese acute", "Ánh", "anh"},
		{"Vietnamese tones and vowel marks", "Nguyễn Thị Ánh Tuyết", "nguyen thi anh tuyet"},
		{"Vietnamese decomposed input", "A\u0301nh", "anh"},
		{"Vietnamese đ", "Đặng Văn Đức", "dang van duc"},
		{"Polish ł", "Łukasz Błaszczykowski", "lukasz blaszczykowski"},
		{"Polish ogonek and kreska", "Zażółć gęślą jaźń", "zazolc gesla jazn"},
		{"eth looks like đ", "Ðỗ", "do"},
		{"German", "Straße", "strasse"},
		{"already folded", "anh", "anh"},
		{"email", "Anh.Nguyen@Example.COM", "anh.nguyen@example.com"},
		{"digits and punctuation stay", "+48 22-123", "+48 22-123"},
		{"empty", "", ""},
		{"only spaces", " \t\n ", ""},
		{"invalid UTF-8", "a\xffb", "a\ufffdb"},
	} {
		if got := directory.Fold(tc.in); got != tc.want {
			t.Errorf("%s: Fold(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestNumberTerm(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+48 22-123", "+4822123"},
		{"(022) 123 45 67", "0221234567"},
		{"601.000.200", "601000200"},
		{" 10001 ", "10001"},
		{"+", ""},
		{"4+8", ""},
		{"Acme 2", ""},
		{"", ""},
		{"- ()", ""},
	} {
		if got := directory.NumberTerm(tc.in); got != tc.want {
			t.Errorf("NumberTerm(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSearchText(t *testing.T) {
	got := directory.SearchText("Łukasz Nowak", "  ACME ")
	if got != "lukasz nowak\nacme" {
		t.Errorf("SearchText = %q", got)
	}
}

// FuzzFold checks that Fold never panics, is idempotent, returns valid
// UTF-8 without a space at either end and that a folded term is still
// found in the folded text it was cut from.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"Łukasz", "Ánh", "Nguyễn Thị", "Đặng", " Acme ", "+48 22-123", "a\xffb",
		"İstanbul", "ǅ", "Å", "\u0345", "ﬁ", "ᾼ", "가나", "\u00a0x\u2028y", "K", "ẞ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := directory.Fold(s)
		if again := directory.Fold(got); again != got {
			t.Fatalf("Fold(%q) = %q, but Fold of that = %q", s, got, again)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Fold(%q) = %q: invalid UTF-8", s, got)
		}
		if len(got) > 0 && (got[0] == ' ' || got[len(got)-1] == ' ') {
			t.Fatalf("Fold(%q) = %q: space at an end", s, got)
		}
		_ = directory.NumberTerm(s)
	})
}
