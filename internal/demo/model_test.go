package demo

import (
	"strings"
	"testing"
)

func TestTransferValidate(t *testing.T) {
	ok := Transfer{ID: "t-1", From: "alice", To: "bob", Amount: 10}
	tests := []struct {
		name      string
		change    func(*Transfer)
		wantField string // empty: valid
	}{
		{"valid", func(*Transfer) {}, ""},
		{"missing id", func(t *Transfer) { t.ID = "" }, "id is missing"},
		{"id too long", func(t *Transfer) { t.ID = strings.Repeat("x", 65) }, "id is 65 characters"},
		{"id with a slash", func(t *Transfer) { t.ID = "a/b" }, `id "a/b" contains '/'`},
		{"missing from", func(t *Transfer) { t.From = "" }, "from is missing"},
		{"to with a space", func(t *Transfer) { t.To = "b ob" }, `to "b ob" contains ' '`},
		{"same account", func(t *Transfer) { t.To = t.From }, "from and to are both"},
		{"zero amount", func(t *Transfer) { t.Amount = 0 }, "amount 0 is outside"},
		{"negative amount", func(t *Transfer) { t.Amount = -5 }, "amount -5 is outside"},
		{"huge amount", func(t *Transfer) { t.Amount = MaxAmount + 1 }, "is outside 1.."},
		{"largest amount", func(t *Transfer) { t.Amount = MaxAmount }, ""},
		{"64-character id", func(t *Transfer) { t.ID = strings.Repeat("x", 64) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := ok
			tt.change(&tr)
			err := tr.Validate()
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("valid transfer refused: %v", err)
			case tt.wantField != "" && err == nil:
				t.Errorf("invalid transfer accepted, want an error with %q", tt.wantField)
			case tt.wantField != "" && !strings.Contains(err.Error(), tt.wantField):
				t.Errorf("error %q does not say %q", err, tt.wantField)
			}
		})
	}
}

func TestValidateBalance(t *testing.T) {
	for _, tt := range []struct {
		balance int64
		valid   bool
	}{{0, true}, {100, true}, {MaxAmount, true}, {-1, false}, {MaxAmount + 1, false}} {
		if err := ValidateBalance(tt.balance); (err == nil) != tt.valid {
			t.Errorf("ValidateBalance(%d) = %v, want valid %v", tt.balance, err, tt.valid)
		}
	}
}

func TestSameRequestIgnoresWhoApplied(t *testing.T) {
	a := Transfer{ID: "t", From: "x", To: "y", Amount: 1}
	b := a
	b.AppliedBy = &Identity{Version: "v2"}
	if !a.SameRequest(b) {
		t.Error("the same request applied by someone is not the same request")
	}
	b.Amount = 2
	if a.SameRequest(b) {
		t.Error("a different amount is the same request")
	}
}
