package registry

import (
	"strings"
	"testing"
)

func effectSpec(typ string, effects ...Effect) Spec {
	return Spec{
		Type: typ, Effects: effects, Outputs: []Output{{Name: "out"}},
		New: func(Config, Env) (Node, error) { return nil, nil },
	}
}

func TestPolicyCheck(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		effects []Effect
		want    string // "" allowed, else a part of the error
	}{
		{"zero allows all", Policy{}, []Effect{Exec}, ""},
		{"deny exec", Policy{Deny: []Effect{Exec}}, []Effect{Exec}, `it runs processes (effect "exec"), which is denied`},
		{"deny other", Policy{Deny: []Effect{Write}}, []Effect{Net}, ""},
		{"deny same", Policy{Deny: []Effect{Write}}, []Effect{Write}, `it writes files (effect "write"), which is denied`},
		{"deny implied by exec", Policy{Deny: []Effect{Net}}, []Effect{Exec}, `which can do anything, and effect "net" is denied`},
		{"pure always allowed", Policy{Allow: []Effect{}}, nil, ""},
		{"allow none", Policy{Allow: []Effect{}}, []Effect{Read}, `not allowed (no effect is)`},
		{"allow listed", Policy{Allow: []Effect{Read, Net}}, []Effect{Net}, ""},
		{"allow unlisted", Policy{Allow: []Effect{Read, Net}}, []Effect{Terminal}, `it reads the terminal (effect "terminal"), which is not allowed (only read, net)`},
		{"allow exec", Policy{Allow: []Effect{Exec}}, []Effect{Exec}, ""},
		{"allow exec, deny net", Policy{Allow: []Effect{Exec}, Deny: []Effect{Net}}, []Effect{Exec}, `effect "net" is denied`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := effectSpec("x.y", tt.effects...)
			err := tt.policy.Check(&s)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("allowed, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestParseEffects(t *testing.T) {
	got, err := ParseEffects(" exec, write,exec,")
	if err != nil || len(got) != 2 || got[0] != Exec || got[1] != Write {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := ParseEffects("exec,disk"); err == nil || !strings.Contains(err.Error(), `unknown effect "disk"`) {
		t.Errorf("err = %v", err)
	}
}

func TestRestrictAndRefuse(t *testing.T) {
	reg := New()
	reg.MustRegister(effectSpec("a.pure"))
	reg.MustRegister(effectSpec("a.run", Exec))
	if err := reg.RegisterAllowed(effectSpec("a.net", Net), Policy{Deny: []Effect{Net}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Lookup("a.net"); ok {
		t.Error("a.net registered despite the policy")
	}
	if reason, ok := reg.Refused("a.net"); !ok || !strings.Contains(reason, "uses the network") {
		t.Errorf("Refused(a.net) = %q, %v", reason, ok)
	}
	r := reg.Restrict(Policy{Deny: []Effect{Exec}})
	if _, ok := r.Lookup("a.pure"); !ok {
		t.Error("a.pure lost")
	}
	if _, ok := r.Lookup("a.run"); ok {
		t.Error("a.run kept")
	}
	if _, ok := r.Refused("a.net"); !ok {
		t.Error("a.net no longer refused")
	}
	if got := r.Types(); len(got) != 1 || got[0] != "a.pure" {
		t.Errorf("Types() = %v", got)
	}
	if _, ok := reg.Lookup("a.run"); !ok {
		t.Error("Restrict changed the original registry")
	}
	if err := reg.Register(effectSpec("a.bad", "disk")); err == nil || !strings.Contains(err.Error(), `unknown effect "disk"`) {
		t.Errorf("Register with an unknown effect: %v", err)
	}
}
