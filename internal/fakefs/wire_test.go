package fakefs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestEncodeValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+OK\n", "%2BOK%0A"},
		{"sofia/internal/1001@127.0.0.1", "sofia/internal/1001%40127.0.0.1"},
		{`3 12 1 5000 # tone_stream://%(200,0,800) pl_pin \d+ 3000`,
			`3%2012%201%205000%20%23%20tone_stream%3A//%25(200,0,800)%20pl_pin%20%5Cd%2B%203000`},
		{"ARRAY::*11|:*11", "ARRAY%3A%3A*11%7C%3A*11"},
		{`^1\d+$`, `%5E1%5Cd%2B$`},
		{"Once changed type 'reloadxml'", "Once%20changed%20type%20'reloadxml'"},
		{"fd00::2", "fd00%3A%3A2"},
	}
	for _, tt := range tests {
		if got := encodeValue(tt.in); got != tt.want {
			t.Errorf("encodeValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitCommands(t *testing.T) {
	in := "connect\r\n\r\n\nsendmsg\nCall-Command: execute\nEXECUTE-APP-NAME: playback\n" +
		"content-type: text/plain\ncontent-length: 8\n\nfile.wav" +
		"getvar x\n\nsendmsg\ncall-command: exe"

	cmds, rest, err := splitCommands([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cmds {
		got = append(got, c.Name+"|"+c.Headers["call-command"]+"|"+c.Headers["execute-app-name"]+"|"+c.Body)
	}
	want := []string{"connect|||", "sendmsg|execute|playback|file.wav", "getvar x|||"}
	if !slices.Equal(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	if string(rest) != "sendmsg\ncall-command: exe" {
		t.Errorf("rest %q", rest)
	}
}

func TestSplitCommands_WaitsForBody(t *testing.T) {
	cmds, rest, err := splitCommands([]byte("sendmsg\ncontent-length: 10\n\nshort"))
	if err != nil || len(cmds) != 0 || len(rest) == 0 {
		t.Errorf("got %v, rest %q, error %v; want nothing yet", cmds, rest, err)
	}
}

func TestSplitCommands_Malformed(t *testing.T) {
	for _, in := range []string{
		"sendmsg\nno colon\n\n",
		"sendmsg\n: empty name\n\n",
		"sendmsg\ncontent-length: -1\n\n",
		strings.Repeat("x", maxHeadBytes+1),
	} {
		if _, _, err := splitCommands([]byte(in)); !errors.Is(err, errNotCommand) {
			t.Errorf("splitCommands(%.30q) error %v, want errNotCommand", in, err)
		}
	}
}

func TestEventFrame_Formats(t *testing.T) {
	hs := []header{{"Event-Name", "DTMF"}, {"DTMF-Digit", "#"}}
	tests := []struct{ format, kind, body string }{
		{"plain", "text/event-plain", "Event-Name: DTMF\nDTMF-Digit: %23\n\n"},
		{"json", "text/event-json", `{"Event-Name":"DTMF","DTMF-Digit":"#"}`},
		{"xml", "text/event-xml", "<event>\n  <headers>\n    <Event-Name>DTMF</Event-Name>\n" +
			"    <DTMF-Digit>%23</DTMF-Digit>\n  </headers>\n</event>\n"},
	}
	for _, tt := range tests {
		want := fmt.Sprintf("Content-Length: %d\nContent-Type: %s\n\n%s", len(tt.body), tt.kind, tt.body)
		if got := string(eventFrame(tt.format, hs, "")); got != want {
			t.Errorf("%s:\n got %q\nwant %q", tt.format, got, want)
		}
	}
}

func TestVarList_SetMovesToEnd(t *testing.T) {
	var v varList
	v.set("a", "1")
	v.set("b", "2")
	v.set("a", "3")
	v.set("c", "")
	v.set("b", "")

	got := v.headers()
	want := []header{{"variable_a", "3"}}
	if !slices.Equal(got, want) {
		t.Errorf("headers %q, want %q", got, want)
	}
}

func TestMaskDialed(t *testing.T) {
	tests := []struct{ dialed, filter, want string }{
		{"4711#", "", "4711#"},
		{"4711#", "^.*$", "XXXXX"},
		{"*11 4711#", `(\d{4})`, "*11 XXXX#"},
		{"4711#", "(", "4711#"}, // a broken filter masks nothing, as in FreeSWITCH
	}
	for _, tt := range tests {
		if got := maskDialed(tt.dialed, tt.filter); got != tt.want {
			t.Errorf("maskDialed(%q, %q) = %q, want %q", tt.dialed, tt.filter, got, tt.want)
		}
	}
}
