// Package deploy holds what an operator installs beside the binary; its
// tests keep those files valid.
package deploy

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dialplan mirrors the part of FreeSWITCH's dialplan XML these files use.
type dialplan struct {
	Extensions []struct {
		Name       string `xml:"name,attr"`
		Continue   string `xml:"continue,attr"`
		Conditions []struct {
			Field      string `xml:"field,attr"`
			Expression string `xml:"expression,attr"`
			Actions    []struct {
				Application string `xml:"application,attr"`
				Data        string `xml:"data,attr"`
			} `xml:"action"`
		} `xml:"condition"`
	} `xml:"extension"`
}

// TestDialplan parses every FreeSWITCH file and checks the socket action
// is the one the README and the daemon's defaults agree on.
func TestDialplan(t *testing.T) {
	files, err := filepath.Glob("freeswitch/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dialplan files: %v", err)
	}
	sockets := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var dp dialplan
		if err := xml.Unmarshal(raw, &dp); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, ext := range dp.Extensions {
			if ext.Continue != "true" {
				t.Errorf("%s: extension %q must have continue=\"true\" so routing goes on after it", f, ext.Name)
			}
			for _, c := range ext.Conditions {
				for _, a := range c.Actions {
					if a.Application != "socket" {
						continue
					}
					sockets++
					if a.Data != "127.0.0.1:8084 async full" {
						t.Errorf("%s: socket %q, want the default address in async full mode", f, a.Data)
					}
				}
			}
		}
	}
	if sockets != 1 {
		t.Errorf("found %d socket actions, want exactly 1", sockets)
	}

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), `<action application="socket" data="127.0.0.1:8084 async full"/>`) {
		t.Error("README's dialplan snippet differs from deploy/freeswitch")
	}
}
