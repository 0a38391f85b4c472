package esl

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantType string
		wantBody string
		wantErr  error
	}{
		{"reply", "Content-Type: command/reply\nReply-Text: +OK\n\n", typeReply, "", nil},
		{"crlf and leading blank lines", "\r\n\nContent-Type: command/reply\r\nReply-Text: +OK\r\n\r\n", typeReply, "", nil},
		{"event with body", "Content-Length: 5\nContent-Type: text/event-plain\n\nhello", typeEventPlain, "hello", nil},
		{"api response", "Content-Type: api/response\nContent-Length: 3\n\n+OK", typeAPI, "+OK", nil},
		{"eof between frames", "", "", "", io.EOF},
		{"eof inside headers", "Content-Type: command/reply\n", "", "", io.ErrUnexpectedEOF},
		{"eof inside body", "Content-Length: 10\n\nshort", "", "", io.ErrUnexpectedEOF},
		{"negative length", "Content-Length: -1\n\n", "", "", errProtocol},
		{"huge length", "Content-Length: 99999999999\n\n", "", "", errProtocol},
		{"length not a number", "Content-Length: ten\n\n", "", "", errProtocol},
		{"no colon", "Content-Type command/reply\n\n", "", "", errProtocol},
		{"long line", "X: " + strings.Repeat("a", 20000) + "\nContent-Type: command/reply\n\n", typeReply, "", nil},
		{"line too long", "X: " + strings.Repeat("a", maxLineBytes+10) + "\n\n", "", "", errProtocol},
		{"line too long, no newline", "X: " + strings.Repeat("a", maxLineBytes+10), "", "", errProtocol},
		{"too many lines", strings.Repeat("X: y\n", maxHeaderLines+1) + "\n", "", "", errProtocol},
		{"too many bytes", strings.Repeat("X: "+strings.Repeat("y", 30000)+"\n", 10) + "\n", "", "", errProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := readFrame(bufio.NewReaderSize(strings.NewReader(tt.in), readBufferSize))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.contentType(); got != tt.wantType {
				t.Errorf("content type = %q, want %q", got, tt.wantType)
			}
			if got := string(f.body); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
		})
	}
}

func TestHeaders_get(t *testing.T) {
	hs := headers{
		{"Reply-Text", "%2BOK%0A"},
		{"Channel-Name", "sofia/internal/1001%40example.com"},
		{"variable_bad", "100%"},
		{"variable_plus", "a+b"},
	}
	tests := map[string]string{
		"reply-text":    "+OK\n",
		"Channel-Name":  "sofia/internal/1001@example.com",
		"variable_bad":  "100%", // undecodable values come back as they were
		"variable_plus": "a+b",  // '+' is not a space in FreeSWITCH's encoding
		"Missing":       "",
	}
	for name, want := range tests {
		if got := hs.get(name); got != want {
			t.Errorf("get(%q) = %q, want %q", name, got, want)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add("Content-Type: command/reply\nReply-Text: +OK\n\n")
	f.Add("Content-Length: 12\nContent-Type: text/event-plain\n\nEvent-Name: X")
	f.Fuzz(func(t *testing.T, in string) {
		r := bufio.NewReaderSize(strings.NewReader(in), 16)
		for i := 0; i < 100; i++ {
			fr, err := readFrame(r)
			if err != nil {
				return
			}
			if len(fr.body) > maxBodyBytes || len(fr.headers) > maxHeaderLines {
				t.Fatalf("frame over limits: %d body bytes, %d headers", len(fr.body), len(fr.headers))
			}
			if fr.contentType() == typeEventPlain {
				_, _ = parseEventBody(fr.body)
			}
		}
	})
}
