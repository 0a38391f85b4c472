package fakefs

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/phonelock/phonelock/internal/recordings"
)

// recordedFrames parses the FreeSWITCH side of a recorded scenario.
func recordedFrames(t *testing.T, scenario string) []frame {
	t.Helper()
	raw := recordings.Read(t, scenario+".fs-to-app.bin")

	r := bufio.NewReader(bytes.NewReader(raw))
	var frames []frame
	for {
		f, err := readFrame(r)
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatalf("parse %s after %d frames: %v", scenario, len(frames), err)
		}
		frames = append(frames, f)
	}
}

// names lists header names, first occurrences only.
func names(hs []header) []string {
	var out []string
	for _, h := range hs {
		if !slices.Contains(out, h.name) {
			out = append(out, h.name)
		}
	}
	return out
}

// commonOrder reports the first disagreement in the relative order of the
// header names both lists share, or "".
func commonOrder(recorded, ours []string) string {
	var a, b []string
	for _, n := range recorded {
		if slices.Contains(ours, n) {
			a = append(a, n)
		}
	}
	for _, n := range ours {
		if slices.Contains(recorded, n) {
			b = append(b, n)
		}
	}
	for i := range a {
		if a[i] != b[i] {
			return "recorded has " + a[i] + " where ours has " + b[i]
		}
	}
	return ""
}

// withoutVariables drops variable_ headers, whose order depends on what ran
// before.
func withoutVariables(list []string) []string {
	isVariable := func(n string) bool { return strings.HasPrefix(n, "variable_") }
	return slices.DeleteFunc(slices.Clone(list), isVariable)
}

func TestRecordings_ConnectReplyShape(t *testing.T) {
	tests := []struct {
		scenario string
		call     Call
	}{
		{"11b_connect_reply_sip_1001_to_1002", Call{UserName: "1001", Destination: "1002"}},
		{"11c_connect_reply_loopback", Call{CallerIDNumber: "1001", Destination: "*11"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			recorded := recordedFrames(t, tt.scenario)[0]
			_, frames := mustRun(t, tt.call, func(a *appConn) { a.command("connect") })
			ours := frames[0]

			for who, f := range map[string]frame{"recorded": recorded, "ours": ours} {
				checkConnectReply(t, who, f)
			}
			if diff := commonOrder(names(recorded.headers), names(ours.headers)); diff != "" {
				t.Errorf("header order differs: %s", diff)
			}
			if missing := missingNames(recorded.headers, ours.headers, "variable_"); len(missing) > 0 {
				t.Logf("recorded non-variable headers we leave out: %q", missing)
			}
		})
	}
}

// checkConnectReply checks the connect reply's framing: channel data first,
// the reply's own headers last, no Content-Length, every value encoded.
func checkConnectReply(t *testing.T, who string, f frame) {
	t.Helper()
	list := names(f.headers)
	if list[0] != "Event-Name" || f.get("Event-Name") != "CHANNEL_DATA" {
		t.Errorf("%s: first header %s: %s", who, list[0], f.get(list[0]))
	}
	tail := list[len(list)-4:]
	if want := []string{"Content-Type", "Reply-Text", "Socket-Mode", "Control"}; !slices.Equal(tail, want) {
		t.Errorf("%s: last headers %q, want %q", who, tail, want)
	}
	if slices.Contains(list, "Content-Length") || f.body != nil {
		t.Errorf("%s: connect reply has a Content-Length or body", who)
	}
	for _, h := range decodeHeaders(headerBlock(f.headers)) {
		if raw := f.get(h.name); encodeValue(h.value) != raw {
			t.Errorf("%s: %s: %q is not encoded like %q", who, h.name, raw, encodeValue(h.value))
		}
	}
}

// missingNames lists the names in recorded, outside prefix, that ours lacks.
func missingNames(recorded, ours []header, prefix string) []string {
	var out []string
	have := names(ours)
	for _, n := range names(recorded) {
		if !strings.HasPrefix(n, prefix) && !slices.Contains(have, n) {
			out = append(out, n)
		}
	}
	return out
}

func TestRecordings_Star11Framing(t *testing.T) {
	recorded := recordedFrames(t, "01_full_star11_dialog")
	call := Call{CallerIDNumber: "1001", Destination: "*11", Entries: []string{"1234#"}}
	_, ours := mustRun(t, call, star11(true))

	// The same messages in the same order.
	if got, want := labels(ours), labels(recorded); !slices.Equal(got, want) {
		t.Errorf("message sequence\n ours %q\n recorded %q", got, want)
	}

	for who, frames := range map[string][]frame{"recorded": recorded, "ours": ours} {
		checkFraming(t, who, frames)
	}
	checkEventHeaderOrder(t, recorded, ours)
}

// checkFraming checks every frame's outer headers against the shapes the
// recordings show.
func checkFraming(t *testing.T, who string, frames []frame) {
	t.Helper()
	shapes := map[string][]string{
		"command/reply":    {"Content-Type", "Reply-Text"},
		"text/event-plain": {"Content-Length", "Content-Type"},
		"linger": {"Content-Type", "Controlled-Session-UUID", "Content-Disposition", "Channel-Name",
			"Linger-Time", "Content-Length"},
		"disconnect": {"Content-Type", "Controlled-Session-UUID", "Content-Disposition", "Content-Length"},
	}
	for i, f := range frames[1:] {
		kind := f.get("Content-Type")
		if kind == "text/disconnect-notice" {
			kind = f.get("Content-Disposition")
		}
		if got := names(f.headers); !slices.Equal(got, shapes[kind]) {
			t.Errorf("%s frame %d (%s): headers %q, want %q", who, i+1, f.label(), got, shapes[kind])
		}
		if kind == "text/event-plain" && !bytes.HasSuffix(f.body, []byte("\n\n")) {
			t.Errorf("%s frame %d (%s): event body does not end in a blank line", who, i+1, f.label())
		}
		if kind == "disconnect" && string(f.body) != goodbye {
			t.Errorf("%s frame %d: goodbye body %q", who, i+1, f.body)
		}
	}
}

// checkEventHeaderOrder compares, event by event, the order of the
// non-variable headers both sides carry, and that ours carry the recorded
// event-specific ones.
func checkEventHeaderOrder(t *testing.T, recorded, ours []frame) {
	t.Helper()
	for _, rec := range recorded {
		if rec.event == nil {
			continue
		}
		our, ok := findEvent(ours, rec.eventDetail())
		if !ok {
			continue
		}
		r, o := withoutVariables(names(rec.event)), withoutVariables(names(our.event))
		if diff := commonOrder(r, o); diff != "" {
			t.Errorf("%s: header order differs: %s", rec.eventDetail(), diff)
		}
		if missing := missingNames(rec.event, our.event, "variable_"); len(missing) > 0 {
			t.Errorf("%s: ours lack %q", rec.eventDetail(), missing)
		}
	}
}
