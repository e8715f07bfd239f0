//go:build integration

package demo_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/cafe-dev/cafe/internal/demo"
)

var httpClient = &http.Client{Timeout: 10 * time.Second}

// call sends one JSON request and returns the status and the raw body.
func call(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, reader)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, data
}

func openAccount(t *testing.T, base, id string, balance int64) {
	t.Helper()
	status, body := call(t, http.MethodPut, base+"/accounts/"+id, map[string]int64{"balance": balance})
	if status != http.StatusCreated {
		t.Fatalf("open account %s: %d %s", id, status, body)
	}
}

func balance(t *testing.T, base, id string) int64 {
	t.Helper()
	status, body := call(t, http.MethodGet, base+"/accounts/"+id, nil)
	if status != http.StatusOK {
		t.Fatalf("get account %s: %d %s", id, status, body)
	}
	var acct demo.Account
	if err := json.Unmarshal(body, &acct); err != nil {
		t.Fatalf("account %s: %v in %s", id, err, body)
	}
	return acct.Balance
}

// postTransfer may run in any goroutine: it reports failures with t.Errorf.
func postTransfer(t *testing.T, base string, tr demo.Transfer) (int, demo.Transfer) {
	req := map[string]any{"id": tr.ID, "from": tr.From, "to": tr.To, "amount": tr.Amount}
	data, _ := json.Marshal(req)
	resp, err := httpClient.Post(base+"/transfers", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Errorf("POST /transfers %s: %v", tr.ID, err)
		return 0, demo.Transfer{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var stored demo.Transfer
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(body, &stored); err != nil {
			t.Errorf("transfer %s answer: %v in %s", tr.ID, err, body)
		}
	}
	return resp.StatusCode, stored
}
