package store

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	hash, err := HashPassword("1234")
	if err != nil {
		t.Fatalf("HashPassword() error = %v", err)
	}

	if cost, err := bcrypt.Cost(hash); err != nil || cost != PasswordCost {
		t.Errorf("bcrypt.Cost() = %d, %v; want %d", cost, err, PasswordCost)
	}
	if !CheckPassword(hash, "1234") {
		t.Error("CheckPassword(hash, right password) = false")
	}
}

func TestHashPassword_ErrorHidesPassword(t *testing.T) {
	long := strings.Repeat("7", 80)

	_, err := HashPassword(long)

	if err == nil {
		t.Fatal("HashPassword(80 bytes) succeeded; want an error")
	}
	assertNoSecret(t, err.Error(), nil, long[:12])
}

func TestCheckPassword(t *testing.T) {
	hash := testHash(t, "1234")
	tests := []struct {
		hash     []byte
		password string
		want     bool
	}{
		{hash, "1234", true},
		{hash, "1235", false},
		{hash, "12345", false},
		{hash, "", false},
		{nil, "1234", false},
		{[]byte("1234"), "1234", false},
		{[]byte("$2a$04$garbage"), "1234", false},
	}
	for _, tt := range tests {
		if got := CheckPassword(tt.hash, tt.password); got != tt.want {
			t.Errorf("CheckPassword(%q, %q) = %v; want %v", tt.hash, tt.password, got, tt.want)
		}
	}
}
