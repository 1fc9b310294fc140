package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestMaskForms(t *testing.T) {
	s := NewSet()
	const v = `sk-"quoted"<&>/ key`
	s.Add(v)
	jsonMsg, _ := json.Marshal(fmt.Sprintf("got %q", v))
	for _, text := range []string{
		"plain " + v + " end",
		fmt.Sprintf("quoted %q", v),
		string(jsonMsg),
		"http://h/?k=" + url.QueryEscape(v),
		"http://h/" + url.PathEscape(v),
	} {
		got := s.Mask(text)
		if strings.Contains(got, "sk-") || !strings.Contains(got, Mask) {
			t.Errorf("Mask(%q) = %q, want the secret masked", text, got)
		}
		if !s.Contains(text) {
			t.Errorf("Contains(%q) = false", text)
		}
	}
}

func TestMinLenAndNil(t *testing.T) {
	s := NewSet()
	for _, v := range []string{"", "1", "true", "debug"} {
		if s.Add(v) {
			t.Errorf("Add(%q) recorded a value shorter than MinLen", v)
		}
	}
	if got := s.Mask("true 1 debug"); got != "true 1 debug" {
		t.Errorf("short values masked: %q", got)
	}
	var nilSet *Set
	if nilSet.Add("long-enough") || nilSet.Mask("long-enough") != "long-enough" || nilSet.Contains("long-enough") {
		t.Error("a nil set recorded or masked something")
	}
}

func TestLongestFirst(t *testing.T) {
	s := NewSet()
	s.Add("abcdef")
	s.Add("abcdefghij")
	if got := s.Mask("x abcdefghij y"); got != "x *** y" {
		t.Errorf("got %q, want the longer secret masked whole", got)
	}
}

func TestGetenvRecords(t *testing.T) {
	env := map[string]string{"SECRET": "sk-envSECRET", "HOME": "/home/someone", "PORT": "8080"}
	s := NewSet()
	get := s.Getenv(func(k string) string { return env[k] })
	for k := range env {
		get(k)
	}
	if got := s.Mask("sk-envSECRET /home/someone 8080"); got != "*** /home/someone 8080" {
		t.Errorf("got %q", got)
	}
}

func TestAddEnvironNamingRule(t *testing.T) {
	s := NewSet()
	s.AddEnviron([]string{"OPENAI_API_KEY=sk-openai1", "GITHUB_TOKEN=ghp_token1", "DB_PASSWORD=hunter22",
		"MONKEY=banana-split", "EXTRA=extra-value", "PLAIN=plain-value"}, "EXTRA")
	got := s.Mask("sk-openai1 ghp_token1 hunter22 banana-split extra-value plain-value")
	if got != "*** *** *** banana-split *** plain-value" {
		t.Errorf("got %q", got)
	}
}

func TestWriterSplitWrites(t *testing.T) {
	s := NewSet()
	s.Add("sk-envSECRET")
	var buf bytes.Buffer
	w := s.Writer(&buf)
	for _, part := range []string{"a sk-e", "nvSEC", "RET b sk", "-other"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "a *** b sk-other" {
		t.Errorf("got %q", got)
	}
}

func TestHandler(t *testing.T) {
	s := NewSet()
	s.Add("sk-envSECRET")
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
		if format == "json" {
			h = slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
		}
		log := slog.New(s.Handler(h)).With("url", "http://x/?k=sk-envSECRET")
		log.Debug("failed sk-envSECRET", "err", errors.New(`body: "sk-envSECRET"`),
			slog.Group("g", "h", map[string]any{"Authorization": "Bearer sk-envSECRET"}))
		log.ErrorContext(context.Background(), "x", "n", 1)
		if out := buf.String(); strings.Contains(out, "sk-envSECRET") || !strings.Contains(out, Mask) {
			t.Errorf("%s: %s", format, out)
		}
	}
}

func TestAddValueURL(t *testing.T) {
	s := NewSet()
	get := s.Getenv(func(string) string { return "https://user1:pass-word@api.example.com/v1?api-key=key-123456&x=1" })
	get("OPENAI_BASE_URL")
	got := s.Mask("at https://api.example.com/v1 with pass-word and key-123456")
	if got != "at https://api.example.com/v1 with *** and ***" {
		t.Errorf("got %q", got)
	}
}

func TestMaskBase64(t *testing.T) {
	const v = "az-KEY-12345"
	s := NewSet()
	s.Add(v)
	for _, prefix := range []string{"", "u:", "us:", "user:"} {
		enc := base64.StdEncoding.EncodeToString([]byte(prefix + v))
		got := s.Mask("auth=Basic " + enc)
		if !strings.Contains(got, Mask) {
			t.Errorf("prefix %q: %q not masked in %q", prefix, enc, got)
		}
		if dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(got, "auth=Basic ")); err == nil && strings.Contains(string(dec), "KEY-1") {
			t.Errorf("prefix %q: the masked text still decodes to the secret: %q", prefix, dec)
		}
	}
}
