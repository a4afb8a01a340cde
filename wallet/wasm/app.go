package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/internal/fault"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/wallet"
)

// backend is where the wallet's store lives: IndexedDB in the browser,
// memory in tests.
type backend interface {
	Open(ctx context.Context) (wallet.Store, error)
	Exists(ctx context.Context) (bool, error)
	Destroy(ctx context.Context) error
}

// metaRegistry is the store metadata holding the pinned registry (public
// values: its URL, log origin and key, trust authority). It is kept
// outside the sealed records so the wallet knows its registry before it
// is unlocked.
const metaRegistry = "app.registry"

// accreditationsTTL is how long the app reuses the trust authority's
// verified accreditations: replaying that chain in wasm is most of a
// presentation's cost, and a citizen often presents several times in a
// visit (docs/benchmarks.md).
const accreditationsTTL = 5 * time.Minute

// pinnedRegistry is the registry a wallet was created against.
type pinnedRegistry struct {
	BaseURL        string `json:"base_url"`
	Origin         string `json:"origin"`
	LogKey         string `json:"log_key"`
	TrustAuthority string `json:"trust_authority"`
}

// app is the state behind globalThis.tongWallet. Every method is safe to
// call concurrently; wallet-changing ones are serialized.
type app struct {
	be     backend
	origin string // the page's origin: the default registry
	http   *http.Client
	kdf    wallet.KDF
	now    func() time.Time
	// refillAt is Options.RefillAt (0: the wallet's default).
	refillAt int

	mu   sync.Mutex
	w    *wallet.Wallet
	reqs map[string]*wallet.Request
}

func newApp(be backend, origin string, hc *http.Client) *app {
	return &app{be: be, origin: origin, http: hc, kdf: wallet.PhoneKDF, now: time.Now, reqs: map[string]*wallet.Request{}}
}

// appError is a rejection: the shared error with a stable code, the
// citizen's message in English as its Description and the cause as its
// Err; the message in Chinese, and the seconds to wait for a lockout.
type appError struct {
	appBase
	MessageZh  string
	RetryAfter int
	TriesLeft  int
}

// appBase is the fault.Error that an appError extends.
type appBase = fault.Error[string, fault.Bare]

// App-level codes (the wallet's own codes pass through unchanged).
const (
	codeWrongPassphrase = "wrong_passphrase"
	codeLockedOut       = "locked_out"
	codeLocked          = "wallet_locked"
	codeNoWallet        = "no_wallet"
	codeWalletExists    = "wallet_exists"
	codeNotFound        = "not_found"
	codeCorrupt         = "wallet_damaged"
	codeBadBackup       = "bad_backup"
	codeBadInput        = "bad_input"
	codeUnknownHandle   = "request_gone"
	codeRegistry        = "registry_unavailable"
	codeInternal        = "internal_error"
)

// messages are what a citizen reads for each code: what happened and what
// to do, without HTTP details.
var messages = map[string][2]string{
	codeWrongPassphrase:              {"The PIN or passphrase is wrong. Try again.", "PIN 或密码不正确，请重试。"},
	codeLockedOut:                    {"Too many wrong tries. Wait a moment, then try again.", "错误次数过多，请稍后再试。"},
	codeLocked:                       {"The wallet is locked. Unlock it with your PIN or passphrase first.", "钱包已锁定，请先用 PIN 或密码解锁。"},
	codeNoWallet:                     {"There is no wallet on this device yet. Create one, or restore a backup.", "此设备上还没有钱包。请创建一个，或从备份恢复。"},
	codeWalletExists:                 {"There is already a wallet on this device. Delete it first to create or restore another.", "此设备上已有钱包。如需新建或恢复，请先删除它。"},
	codeNotFound:                     {"That credential is no longer in the wallet.", "该凭证已不在钱包中。"},
	codeCorrupt:                      {"The wallet's data on this device is damaged. Restore it from a backup.", "此设备上的钱包数据已损坏，请从备份恢复。"},
	codeBadBackup:                    {"This file is not a Tong wallet backup, or it is damaged.", "此文件不是有效的钱包备份，或已损坏。"},
	codeBadInput:                     {"Something is missing. Please fill in every field.", "信息不完整，请填写所有内容。"},
	codeUnknownHandle:                {"This request is no longer open. Scan the code again.", "该请求已失效，请重新扫码。"},
	codeRegistry:                     {"The city's registry cannot be reached, so the wallet cannot check who is asking. Check your connection and try again.", "无法连接城市身份登记系统，钱包无法核实请求方。请检查网络后重试。"},
	codeInternal:                     {"Something went wrong in the wallet. Try again.", "钱包出现错误，请重试。"},
	wallet.CodeBadOffer:              {"This code is not a credential offer the wallet understands.", "无法识别此凭证领取码。"},
	wallet.CodeBadMetadata:           {"The agency's service gave an answer the wallet cannot use. Try again later, or ask the agency.", "发证机构的服务返回了无法使用的信息。请稍后再试或咨询该机构。"},
	wallet.CodeIssuerUntrusted:       {"The city's registry does not confirm this agency as an issuer of this credential. Nothing was saved.", "城市登记系统未确认该机构有权签发此凭证，未保存任何内容。"},
	wallet.CodeTxCodeRequired:        {"Enter the PIN the agency gave you.", "请输入机构提供的 PIN 码。"},
	wallet.CodeOfferInvalid:          {"This offer cannot be used: the PIN is wrong, or the offer was already used or has expired. Check the PIN, or ask the agency for a new offer.", "无法领取：PIN 码错误，或该领取码已使用或已过期。请核对 PIN 码，或请机构重新发放。"},
	wallet.CodeIssuerRefused:         {"The agency did not issue the credential. Ask the agency for help.", "机构未签发该凭证，请咨询该机构。"},
	wallet.CodeBadCredential:         {"The credential the agency sent did not pass the wallet's checks, so it was not saved.", "机构发来的凭证未通过钱包核验，未保存。"},
	wallet.CodeCredentialRevoked:     {"This credential has been revoked or suspended by the agency that issued it.", "该凭证已被签发机构吊销或暂停。"},
	wallet.CodeBadRequest:            {"This code is not a request the wallet understands. Ask the counter for a new code.", "无法识别此请求码，请向窗口重新索取。"},
	wallet.CodeVerifierUntrusted:     {"The wallet cannot confirm who is asking, so it will not share anything.", "钱包无法确认请求方身份，不会分享任何信息。"},
	wallet.CodeVerifierNotAccredited: {"This requester is not approved by the city to ask for this information. Nothing was shared.", "该请求方未获城市授权索取这些信息，未分享任何内容。"},
	wallet.CodeRequestExpired:        {"This request has expired. Ask the counter for a new code.", "该请求已过期，请向窗口重新索取。"},
	wallet.CodeNoMatch:               {"Your wallet has no credential that answers this request.", "您的钱包中没有符合该请求的凭证。"},
	wallet.CodeCopiesExhausted:       {"This credential has been used up on this device and could not be renewed. Ask the agency to issue it again.", "该凭证在本设备上的使用次数已用完且无法续期，请向机构重新申领。"},
	wallet.CodeDeclined:              {"You declined. Nothing was shared.", "您已拒绝，未分享任何内容。"},
	wallet.CodeVerifierRefused:       {"The counter did not accept the answer. Ask the staff for help.", "窗口未接受此次出示，请咨询工作人员。"},
	wallet.CodeNetwork:               {"No connection. Check your network and try again.", "网络连接失败，请检查网络后重试。"},
	wallet.CodeHTTP:                  {"A service answered in a way the wallet does not accept. Try again later.", "服务返回了无法接受的响应，请稍后再试。"},
}

func newErr(code string, cause error) *appError {
	m, ok := messages[code]
	if !ok {
		m = messages[codeInternal]
	}
	return &appError{appBase: appBase{Code: code, Description: m[0], Err: cause}, MessageZh: m[1]}
}

// toAppError maps any error to a rejection with a stable code.
func toAppError(err error) *appError {
	var ae *appError
	var wp *wallet.WrongPassphraseError
	var lo *wallet.LockedOutError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &lo):
		e := newErr(codeLockedOut, err)
		e.RetryAfter = max(1, int((lo.RetryAfter+time.Second-1)/time.Second))
		return e
	case errors.As(err, &wp):
		e := newErr(codeWrongPassphrase, err)
		e.TriesLeft = wp.TriesLeft
		return e
	case errors.Is(err, wallet.ErrWrongPassphrase):
		return newErr(codeWrongPassphrase, err)
	case errors.Is(err, wallet.ErrExists):
		return newErr(codeWalletExists, err)
	case errors.Is(err, wallet.ErrNotFound):
		return newErr(codeNotFound, err)
	case errors.Is(err, wallet.ErrCorrupt):
		return newErr(codeCorrupt, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return newErr(wallet.CodeNetwork, err)
	}
	if c := wallet.CodeOf(err); c != "" {
		if _, ok := messages[c]; ok {
			return newErr(c, err)
		}
	}
	return newErr(codeInternal, err)
}

func (a *app) options(reg *client.Client) wallet.Options {
	return wallet.Options{HTTPClient: a.http, Registry: reg, RequireRegistry: true, AllowLoopbackHTTP: true, KDF: a.kdf, Now: a.now, RefillAt: a.refillAt}
}

// registryClient pins a registry on first use and builds its client.
func (a *app) registryClient(ctx context.Context, s wallet.Store, base string) (*client.Client, error) {
	var pin pinnedRegistry
	raw, err := s.Meta(ctx, metaRegistry)
	if err == nil && json.Unmarshal(raw, &pin) == nil && pin.LogKey != "" {
		return client.New(client.Config{BaseURL: pin.BaseURL, HTTPClient: a.http, Origin: pin.Origin, LogKey: pin.LogKey, TrustAuthority: pin.TrustAuthority,
			Now: a.now, AccreditationsTTL: accreditationsTTL})
	}
	if base == "" {
		base = a.origin
	}
	u, perr := url.Parse(base)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, newErr(codeBadInput, fmt.Errorf("registry %q is not a URL", base))
	}
	cfg, err := client.Discover(ctx, base, a.http)
	if err != nil {
		return nil, newErr(codeRegistry, err)
	}
	cfg.Now, cfg.AccreditationsTTL = a.now, accreditationsTTL
	c, err := client.New(cfg)
	if err != nil {
		return nil, newErr(codeRegistry, err)
	}
	raw, _ = json.Marshal(pinnedRegistry{BaseURL: base, Origin: cfg.Origin, LogKey: cfg.LogKey, TrustAuthority: cfg.TrustAuthority})
	if err := s.SetMeta(ctx, map[string][]byte{metaRegistry: raw}); err != nil {
		return nil, err
	}
	return c, nil
}

func (a *app) exists(ctx context.Context) (bool, error) { return a.be.Exists(ctx) }

func (a *app) isUnlocked() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.w != nil
}

func (a *app) create(ctx context.Context, passphrase, registry string) error {
	if passphrase == "" {
		return newErr(codeBadInput, errors.New("empty passphrase"))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ok, err := a.be.Exists(ctx); err != nil {
		return err
	} else if ok {
		return newErr(codeWalletExists, nil)
	}
	s, err := a.be.Open(ctx)
	if err != nil {
		return err
	}
	reg, err := a.registryClient(ctx, s, registry)
	if err != nil {
		s.Close()
		return err
	}
	w, err := wallet.New(ctx, s, []byte(passphrase), a.options(reg))
	if err != nil {
		s.Close()
		return err
	}
	a.setWallet(w)
	return nil
}

// setWallet replaces the open wallet (nil locks). Callers hold a.mu.
func (a *app) setWallet(w *wallet.Wallet) {
	if a.w != nil {
		a.w.Close()
	}
	a.w = w
	clear(a.reqs)
}

func (a *app) unlock(ctx context.Context, passphrase string) error {
	if passphrase == "" {
		return newErr(codeBadInput, errors.New("empty passphrase"))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ok, err := a.be.Exists(ctx); err != nil {
		return err
	} else if !ok {
		return newErr(codeNoWallet, nil)
	}
	s, err := a.be.Open(ctx)
	if err != nil {
		return err
	}
	reg, err := a.registryClient(ctx, s, "")
	if err != nil {
		s.Close()
		return err
	}
	w, err := wallet.Unlock(ctx, s, []byte(passphrase), a.options(reg))
	if err != nil {
		s.Close()
		return err
	}
	a.setWallet(w)
	return nil
}

func (a *app) lock() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.setWallet(nil)
}

// wallet returns the open wallet or a wallet_locked rejection.
func (a *app) wallet() (*wallet.Wallet, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.w == nil {
		return nil, newErr(codeLocked, nil)
	}
	return a.w, nil
}

// Objects handed to JavaScript: plain JSON shapes (the contract in
// README.md).

type jsLogo struct {
	URI     string `json:"uri"`
	AltText string `json:"alt_text"`
}

type jsDisplay struct {
	Name            string  `json:"name"`
	Description     string  `json:"description"`
	Logo            *jsLogo `json:"logo"`
	BackgroundColor string  `json:"background_color"`
	TextColor       string  `json:"text_color"`
}

type jsCredential struct {
	ID            string            `json:"id"`
	VCT           string            `json:"vct"`
	Issuer        string            `json:"issuer"`
	IssuerName    string            `json:"issuer_name"`
	IssuerNameZh  string            `json:"issuer_name_zh"`
	IssuerDID     string            `json:"issuer_did"`
	Display       jsDisplay         `json:"display"`
	DisplayZh     jsDisplay         `json:"display_zh"`
	Status        string            `json:"status"`
	StatusChecked string            `json:"status_checked_at,omitempty"`
	IssuedAt      string            `json:"issued_at"`
	ExpiresAt     string            `json:"expires_at"`
	CopiesLeft    int               `json:"copies_left"`
	Refillable    bool              `json:"refillable"`
	Claims        map[string]any    `json:"claims"`
	ClaimLabels   map[string]string `json:"claim_labels"`
	ClaimLabelsZh map[string]string `json:"claim_labels_zh"`
}

func jsTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func display(c *wallet.Credential, locale string) jsDisplay {
	d := c.LocalDisplay(locale)
	out := jsDisplay{Name: d.Name, Description: d.Description, BackgroundColor: d.BackgroundColor, TextColor: d.TextColor}
	if out.Name == "" {
		out.Name = c.Name
	}
	if out.Name == "" {
		out.Name = c.VCT
	}
	if d.Logo != nil {
		out.Logo = &jsLogo{URI: d.Logo.URI, AltText: d.Logo.AltText}
	}
	return out
}

// pathKey writes a claim path as the dotted key of claim_labels
// ("address.locality"); a null element (every array element) is "*".
func pathKey(p []any) string {
	parts := make([]string, len(p))
	for i, e := range p {
		switch v := e.(type) {
		case nil:
			parts[i] = "*"
		case float64:
			parts[i] = fmt.Sprint(int(v))
		default:
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, ".")
}

func issuerName(c *wallet.Credential, locale string) string {
	for _, d := range c.IssuerDisplay {
		if strings.HasPrefix(d.Locale, locale) && d.Name != "" {
			return d.Name
		}
	}
	if c.IssuerName != "" {
		return c.IssuerName
	}
	return c.Issuer
}

func toJSCredential(c *wallet.Credential) jsCredential {
	j := jsCredential{ID: c.ID, VCT: c.VCT, Issuer: c.Issuer, IssuerName: issuerName(c, "en"), IssuerNameZh: issuerName(c, "zh"),
		IssuerDID: c.IssuerDID, Display: display(c, "en"), DisplayZh: display(c, "zh"), Status: c.Status,
		StatusChecked: jsTime(c.StatusCheckedAt), IssuedAt: jsTime(c.IssuedAt), ExpiresAt: jsTime(c.Expiry),
		CopiesLeft: c.CopiesLeft, Refillable: c.Refillable, Claims: c.Claims,
		ClaimLabels: map[string]string{}, ClaimLabelsZh: map[string]string{}}
	if j.Claims == nil {
		j.Claims = map[string]any{}
	}
	for _, cd := range c.ClaimDisplay {
		k := pathKey(cd.Path)
		if l := c.ClaimLabel(cd.Path, "en"); l != "" {
			j.ClaimLabels[k] = l
		}
		if l := c.ClaimLabel(cd.Path, "zh"); l != "" {
			j.ClaimLabelsZh[k] = l
		}
	}
	return j
}

func (a *app) list(ctx context.Context) ([]jsCredential, error) {
	w, err := a.wallet()
	if err != nil {
		return nil, err
	}
	cs, err := w.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]jsCredential, 0, len(cs))
	for _, c := range cs {
		out = append(out, toJSCredential(c))
	}
	return out, nil
}

func (a *app) get(ctx context.Context, id string) (jsCredential, error) {
	w, err := a.wallet()
	if err != nil {
		return jsCredential{}, err
	}
	c, err := w.Credential(ctx, id)
	if err != nil {
		return jsCredential{}, err
	}
	return toJSCredential(c), nil
}

type jsOffer struct {
	Issuer      string         `json:"issuer"`
	IssuerName  string         `json:"issuer_name"`
	Credentials []jsOfferedCr  `json:"credentials"`
	TxCode      *wallet.TxCode `json:"tx_code"`
}

type jsOfferedCr struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameZh string `json:"name_zh"`
}

func localName(ds []wallet.Display, locale string) string {
	for _, d := range ds {
		if strings.HasPrefix(d.Locale, locale) && d.Name != "" {
			return d.Name
		}
	}
	if len(ds) > 0 {
		return ds[0].Name
	}
	return ""
}

func (a *app) offer(ctx context.Context, uri string) (*jsOffer, error) {
	w, err := a.wallet()
	if err != nil {
		return nil, err
	}
	info, err := w.PreviewOffer(ctx, uri)
	if err != nil {
		return nil, err
	}
	o := &jsOffer{Issuer: info.Issuer, IssuerName: info.IssuerName, TxCode: info.TxCode, Credentials: []jsOfferedCr{}}
	if o.IssuerName == "" {
		o.IssuerName = info.Issuer
	}
	for _, c := range info.Credentials {
		o.Credentials = append(o.Credentials, jsOfferedCr{ID: c.ConfigurationID, Name: localName(c.Display, "en"), NameZh: localName(c.Display, "zh")})
	}
	return o, nil
}

func (a *app) receive(ctx context.Context, uri, txCode string) (map[string]any, error) {
	w, err := a.wallet()
	if err != nil {
		return nil, err
	}
	c, err := w.Receive(ctx, uri, txCode)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ids": []string{c.ID}}, nil
}

// purposeLabels name Tong's purposes (verifier/purposes) for the consent
// screen; an unknown purpose shows its id.
var purposeLabels = map[string][2]string{
	"identity-basic":  {"Identity check", "身份核验"},
	"pay-fee":         {"Pay a fee", "缴费"},
	"meeting-booking": {"Book a meeting with an official", "预约会见"},
	"meeting-checkin": {"Meeting check-in", "会见签到"},
}

type jsVerifier struct {
	ID         string `json:"id"`
	DID        string `json:"did"`
	Name       string `json:"name"`
	Accredited bool   `json:"accredited"`
}

type jsClaim struct {
	Path    string `json:"path"`
	Label   string `json:"label"`
	LabelZh string `json:"label_zh"`
	Value   any    `json:"value"`
}

type jsRequestCredential struct {
	CredentialID string    `json:"credential_id"`
	Name         string    `json:"name"`
	NameZh       string    `json:"name_zh"`
	Claims       []jsClaim `json:"claims"`
}

type jsTxData struct {
	Type     string         `json:"type"`
	Amount   any            `json:"amount"`
	Currency any            `json:"currency"`
	Payee    any            `json:"payee"`
	OrderID  any            `json:"order_id"`
	Raw      map[string]any `json:"raw"`
}

type jsRequest struct {
	Handle          string                `json:"handle"`
	Verifier        jsVerifier            `json:"verifier"`
	Purpose         string                `json:"purpose"`
	PurposeLabel    string                `json:"purpose_label"`
	PurposeLabelZh  string                `json:"purpose_label_zh"`
	Credentials     []jsRequestCredential `json:"credentials"`
	TransactionData []jsTxData            `json:"transaction_data"`
	ResponseMode    string                `json:"response_mode"`
	ExpiresAt       string                `json:"expires_at"`
}

func txData(tds []map[string]any) []jsTxData {
	out := []jsTxData{}
	for _, td := range tds {
		t, _ := td["type"].(string)
		out = append(out, jsTxData{Type: t, Amount: td["amount"], Currency: td["currency"], Payee: td["payee"], OrderID: td["order_id"], Raw: td})
	}
	return out
}

func labelOr(c *wallet.Credential, p []any, locale string) string {
	if c != nil {
		if l := c.ClaimLabel(p, locale); l != "" {
			return l
		}
	}
	return pathKey(p)
}

func (a *app) request(ctx context.Context, uri string) (*jsRequest, error) {
	w, err := a.wallet()
	if err != nil {
		return nil, err
	}
	req, err := w.Match(ctx, uri)
	if err != nil {
		return nil, err
	}
	cr := req.Consent()
	if cr == nil {
		// Tell the verifier (access_denied), then the citizen.
		_, err := w.Present(ctx, req, func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
			return wallet.Decision{}, nil
		})
		return nil, err
	}
	pl := purposeLabels[req.Purpose]
	if pl[0] == "" {
		pl = [2]string{req.Purpose, req.Purpose}
	}
	out := &jsRequest{Handle: ids.New("req_"), Purpose: req.Purpose, PurposeLabel: pl[0], PurposeLabelZh: pl[1],
		Verifier:        jsVerifier{ID: req.ClientID, DID: req.VerifierDID, Name: req.Name, Accredited: req.Verified},
		TransactionData: txData(req.TransactionData), ResponseMode: responseMode(req), ExpiresAt: jsTime(req.Expiry),
		Credentials: []jsRequestCredential{}}
	if out.Verifier.Name == "" {
		out.Verifier.Name = req.VerifierDID
	}
	for _, cc := range cr.Credentials {
		c := cc.Credential()
		rc := jsRequestCredential{CredentialID: cc.CredentialID, Name: display(c, "en").Name, NameZh: display(c, "zh").Name, Claims: []jsClaim{}}
		for _, cl := range cc.Claims {
			rc.Claims = append(rc.Claims, jsClaim{Path: pathKey(cl.Path), Label: labelOr(c, cl.Path, "en"), LabelZh: labelOr(c, cl.Path, "zh"), Value: cl.Value})
		}
		out.Credentials = append(out.Credentials, rc)
	}
	a.mu.Lock()
	a.reqs[out.Handle] = req
	a.mu.Unlock()
	return out, nil
}

func (a *app) take(handle string) (*wallet.Wallet, *wallet.Request, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.w == nil {
		return nil, nil, newErr(codeLocked, nil)
	}
	req, ok := a.reqs[handle]
	if !ok {
		return nil, nil, newErr(codeUnknownHandle, nil)
	}
	delete(a.reqs, handle)
	return a.w, req, nil
}

func (a *app) present(ctx context.Context, handle string) (map[string]any, error) {
	w, req, err := a.take(handle)
	if err != nil {
		return nil, err
	}
	rec, err := w.Present(ctx, req, func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
		return wallet.Decision{Approve: true}, nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if rec.RedirectURI != "" {
		out["redirect_uri"] = rec.RedirectURI
	}
	return out, nil
}

func (a *app) decline(ctx context.Context, handle string) error {
	w, req, err := a.take(handle)
	if err != nil {
		return err
	}
	_, err = w.Present(ctx, req, func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
		return wallet.Decision{Approve: false}, nil
	})
	if wallet.CodeOf(err) == wallet.CodeDeclined {
		return nil
	}
	return err
}

type jsHistoryCredential struct {
	Name     string   `json:"name"`
	NameZh   string   `json:"name_zh"`
	Claims   []string `json:"claims"`
	ClaimsZh []string `json:"claims_zh"`
}

type jsHistory struct {
	At              string                `json:"at"`
	VerifierName    string                `json:"verifier_name"`
	VerifierDID     string                `json:"verifier_did"`
	Verified        bool                  `json:"verified"`
	Purpose         string                `json:"purpose"`
	PurposeLabel    string                `json:"purpose_label"`
	PurposeLabelZh  string                `json:"purpose_label_zh"`
	Credentials     []jsHistoryCredential `json:"credentials"`
	TransactionData []jsTxData            `json:"transaction_data"`
}

func (a *app) history(ctx context.Context) ([]jsHistory, error) {
	w, err := a.wallet()
	if err != nil {
		return nil, err
	}
	hs, err := w.History(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := w.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]*wallet.Credential{}
	for _, c := range cs {
		byID[c.ID] = c
	}
	out := make([]jsHistory, 0, len(hs))
	for _, h := range hs {
		pl := purposeLabels[h.Purpose]
		if pl[0] == "" {
			pl = [2]string{h.Purpose, h.Purpose}
		}
		e := jsHistory{At: jsTime(h.At), VerifierName: h.Name, VerifierDID: h.VerifierDID, Verified: h.Verified, Purpose: h.Purpose,
			PurposeLabel: pl[0], PurposeLabelZh: pl[1], TransactionData: txData(h.TransactionData), Credentials: []jsHistoryCredential{}}
		if e.VerifierName == "" {
			e.VerifierName = h.Verifier
		}
		for _, d := range h.Disclosed {
			c := byID[d.CredentialID]
			hc := jsHistoryCredential{Name: d.VCT, NameZh: d.VCT, Claims: []string{}, ClaimsZh: []string{}}
			if c != nil {
				hc.Name, hc.NameZh = display(c, "en").Name, display(c, "zh").Name
			}
			for _, p := range d.Claims {
				hc.Claims = append(hc.Claims, labelOr(c, p, "en"))
				hc.ClaimsZh = append(hc.ClaimsZh, labelOr(c, p, "zh"))
			}
			e.Credentials = append(e.Credentials, hc)
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At > out[j].At })
	return out, nil
}

func (a *app) refresh(ctx context.Context) (wallet.RefreshResult, error) {
	w, err := a.wallet()
	if err != nil {
		return wallet.RefreshResult{}, err
	}
	res, err := w.Refresh(ctx)
	if err != nil && wallet.CodeOf(err) == wallet.CodeNetwork {
		err = nil // background upkeep: try again next time
	}
	return res, err
}

func (a *app) backup(ctx context.Context, passphrase string) ([]byte, error) {
	if passphrase == "" {
		return nil, newErr(codeBadInput, errors.New("empty passphrase"))
	}
	w, err := a.wallet()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := w.Export(ctx, &buf, []byte(passphrase)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (a *app) restore(ctx context.Context, data []byte, passphrase, registry string) error {
	if passphrase == "" || len(data) == 0 {
		return newErr(codeBadInput, errors.New("no backup or passphrase"))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ok, err := a.be.Exists(ctx); err != nil {
		return err
	} else if ok {
		return newErr(codeWalletExists, nil)
	}
	s, err := a.be.Open(ctx)
	if err != nil {
		return err
	}
	reg, err := a.registryClient(ctx, s, registry)
	if err != nil {
		s.Close()
		return err
	}
	w, err := wallet.Restore(ctx, s, bytes.NewReader(data), []byte(passphrase), a.options(reg))
	if err != nil {
		s.Close()
		_ = a.be.Destroy(ctx) // leave no half-made wallet behind
		if errors.Is(err, wallet.ErrCorrupt) {
			return newErr(codeBadBackup, err)
		}
		return err
	}
	a.setWallet(w)
	return nil
}

func (a *app) remove(ctx context.Context, id string) error {
	w, err := a.wallet()
	if err != nil {
		return err
	}
	return w.Delete(ctx, id)
}

func (a *app) destroy(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.setWallet(nil)
	return a.be.Destroy(ctx)
}

// responseMode is how the answer will travel: direct_post, or
// direct_post.jwt when the verifier asked for it encrypted.
func responseMode(req *wallet.Request) string {
	if req.Encrypted() {
		return wallet.ResponseModeDirectPostJWT
	}
	return "direct_post"
}
