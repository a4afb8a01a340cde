package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// apiError is a Tong API's error answer ({"error", "error_description"},
// OAuth-shaped), with the HTTP status, so that callers can add a hint.
type apiError struct {
	noun        string // which API: "issuer", "verifier", "inquiries"
	Status      int
	Code        string
	Description string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.noun, e.Code, e.Description)
}

// callAPI sends one request to a Tong JSON API (body as JSON, if any, and
// bearer as the Authorization token, if any) and decodes a 2xx answer into
// out (nil: discarded). Any other answer is an *apiError.
func callAPI(ctx context.Context, noun, method, url, bearer string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return usagef("--server: %v", err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", noun, err), "is tong serve running? Set --server or TONG_SERVER")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", noun, err)
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(raw, &eb)
		if eb.Error == "" {
			eb.Error = resp.Status
		}
		return &apiError{noun: noun, Status: resp.StatusCode, Code: eb.Error, Description: eb.Description}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
