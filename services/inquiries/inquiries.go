// Package inquiries lets citizens ask an agency questions on the topics it
// publishes, and lets the agency's staff answer them from a queue.
//
// # The flow
//
// An agency publishes topics ([Service.PublishTopic]): a name, a short
// description, the expected reply time, whether anonymous questions are
// allowed, and which proofs an asker may give (a catalogue, [Proofs]: "Beijing
// resident", "aged 60 or over"). A citizen asks ([Service.Ask]) with a text of
// at most [MaxText] characters. A question with proofs waits for the
// citizen's wallet to answer an OpenID4VP request (one verifier purpose per
// set of proofs, inquiry-*); staff then learn only the disclosed claims, never
// who asked. The citizen gets a reference and a secret token: the token is the
// only way to read the thread and reply ([Service.Thread], [Service.Reply]),
// it is stored as a SHA-256 hash and never shown to staff.
//
// Staff work a queue per agency ([Service.Queue], [Service.Counts]): new,
// assigned, answered, closed. They assign ([Service.Assign]), answer or ask
// for more ([Service.Answer]) and close ([Service.Close]). Every staff method
// takes the agency: an agency never reads another agency's inquiries.
//
// # Limits
//
// Texts and names are bounded, a thread holds at most [MaxMessages]
// messages, and [Limits] bound new questions per client and in total per
// hour, so that an anonymous topic cannot be flooded.
//
// Storage is behind the [Store] interface; services/inquiries/sqlstore
// implements it on SQLite or PostgreSQL with synchronous writes. Every
// change of an inquiry is announced through the store's [Notifier], so
// that a live thread page waiting in [Service.Changed] on any replica
// wakes at once.
package inquiries

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tongid/tong/internal/fault"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/verifier"
)

// Bounds on what people type.
const (
	MaxText        = 2000 // characters in one message
	MaxTopicName   = 80
	MaxDescription = 400
	MaxAssignee    = 64
	MaxMessages    = 60 // messages in one thread
	MaxReplyHours  = 24 * 60
)

// TokenPrefix starts every citizen's secret token.
const TokenPrefix = "tong_iq_"

// Inquiry states.
const (
	StatusVerifying = "verifying" // waiting for the wallet's proof; staff do not see it
	StatusFailed    = "failed"    // the proof failed or expired; staff never see it
	StatusNew       = "new"
	StatusAssigned  = "assigned"
	StatusAnswered  = "answered"
	StatusClosed    = "closed"
)

// Message authors and kinds.
const (
	AuthorCitizen = "citizen"
	AuthorStaff   = "staff"

	KindMessage  = "message"
	KindMoreInfo = "more_info" // staff ask the citizen for more
	KindNote     = "note"      // the service's own notes (assigned, closed)
)

// Code is a stable error code.
type Code string

// Error codes.
const (
	CodeInvalidRequest   Code = "invalid_request"
	CodeNotFound         Code = "not_found"
	CodeTopicClosed      Code = "topic_closed"
	CodeProofRequired    Code = "proof_required"
	CodeProofNotAllowed  Code = "proof_not_allowed"
	CodeRateLimited      Code = "rate_limited"
	CodeClosed           Code = "inquiry_closed"
	CodeTooManyMessages  Code = "too_many_messages"
	CodeConflict         Code = "conflict"
	CodeNotVerified      Code = "not_verified"
	CodeProofUnavailable Code = "proof_unavailable"
)

// Error is an inquiries error with a stable Code. Description is safe to
// show: it never holds a question's text or a token. Its message is
// "code: description: cause", and errors.Is(err, &Error{Code: c}) matches
// on the code.
type Error = fault.Error[Code, fault.Bare]

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is; a Store returns these.
var (
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrConflict        = &Error{Code: CodeConflict}
	ErrRateLimited     = &Error{Code: CodeRateLimited}
	ErrTooManyMessages = &Error{Code: CodeTooManyMessages}
)

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return fault.CodeOf[Code, fault.Bare](err) }

// Proof is something an asker may prove about themselves: one DCQL
// credential query of the inquiry-* verifier purposes.
type Proof struct {
	ID      string // resident, age-60
	QueryID string // the DCQL credential query id that answers it
	Name    string // English label
	NameZH  string // Chinese label
}

// Proofs is the catalogue, in the order purpose ids name them.
var Proofs = []Proof{
	{ID: "resident", QueryID: "residence", Name: "Beijing resident", NameZH: "北京市居民"},
	{ID: "age-60", QueryID: "age", Name: "Aged 60 or over", NameZH: "已满60岁"},
}

// ProofByID returns a catalogue entry.
func ProofByID(id string) (Proof, bool) {
	for _, p := range Proofs {
		if p.ID == id {
			return p, true
		}
	}
	return Proof{}, false
}

// PurposeFor is the verifier purpose that asks for exactly these proofs
// ("inquiry-resident-age-60"); "" for none. Unknown ids are ignored, so
// check them first.
func PurposeFor(proofs []string) string {
	var parts []string
	for _, p := range Proofs {
		if slices.Contains(proofs, p.ID) {
			parts = append(parts, p.ID)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "inquiry-" + strings.Join(parts, "-")
}

// Purposes lists every inquiry purpose, for accreditation and counters.
func Purposes() []string {
	return []string{"inquiry-resident", "inquiry-age-60", "inquiry-resident-age-60"}
}

// Topic is a subject an agency answers questions on.
type Topic struct {
	ID          string    `json:"id"`
	Agency      string    `json:"agency"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	ReplyHours  int       `json:"reply_hours"`
	Anonymous   bool      `json:"anonymous"`
	Proofs      []string  `json:"proofs"`
	Open        bool      `json:"open"`
	CreatedAt   time.Time `json:"created_at"`
}

// Disclosed is one verified fact about the asker, as staff see it.
type Disclosed struct {
	Proof  string `json:"proof"`
	Label  string `json:"label"`
	Label2 string `json:"label_zh"`
	Value  string `json:"value"`
	// Issuer is the DID of the agency that issued the credential.
	Issuer string `json:"issuer_did"`
}

// Inquiry is one question and its state. TokenHash is never shown.
type Inquiry struct {
	ID        string      `json:"-"`
	Reference string      `json:"reference"`
	Agency    string      `json:"agency"`
	Topic     string      `json:"topic"`
	Status    string      `json:"status"`
	Assignee  string      `json:"assignee,omitempty"`
	Proofs    []string    `json:"proofs,omitempty"`
	Disclosed []Disclosed `json:"disclosed,omitempty"`
	Reason    string      `json:"reason,omitempty"`
	Session   string      `json:"-"`
	TokenHash string      `json:"-"`
	Client    string      `json:"-"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	DueAt     time.Time   `json:"due_at"`
	// Overdue is computed: open and past DueAt.
	Overdue bool `json:"overdue"`
}

// Open reports whether staff still owe an answer.
func (i *Inquiry) Open() bool { return i.Status == StatusNew || i.Status == StatusAssigned }

// Message is one entry of a thread.
type Message struct {
	Seq    int       `json:"seq"`
	Author string    `json:"author"`
	Kind   string    `json:"kind"`
	Staff  string    `json:"staff,omitempty"` // the staff token id that wrote it; shown to staff only
	Body   string    `json:"body"`
	At     time.Time `json:"at"`
}

// Thread is an inquiry with its messages.
type Thread struct {
	Inquiry  *Inquiry
	Topic    *Topic
	Messages []Message
}

// Counts are the queue's numbers.
type Counts struct {
	New      int `json:"new"`
	Assigned int `json:"assigned"`
	Answered int `json:"answered"`
	Closed   int `json:"closed"`
	Open     int `json:"open"`    // new + assigned
	Overdue  int `json:"overdue"` // open and past the reply time
}

// Limits bound new questions. The zero value takes the defaults.
type Limits struct {
	PerClientPerHour int // DefaultPerClientPerHour
	GlobalPerHour    int // DefaultGlobalPerHour
}

// Defaults of Limits.
const (
	DefaultPerClientPerHour = 5
	DefaultGlobalPerHour    = 600
)

// Change is what Store.Update sets; nil fields stay as they are.
type Change struct {
	Status    string
	Assignee  *string
	DueAt     *time.Time
	Disclosed []Disclosed
	Reason    *string
	Session   *string
}

// Lookup selects one inquiry: by token hash, or by agency and reference,
// or by id.
type Lookup struct {
	TokenHash         string
	Agency, Reference string
	ID                string
}

// Store keeps topics and inquiries.
//
// Every write MUST be durable when it returns (synchronous commit). Create
// MUST check the limits and insert in one transaction, and return
// ErrRateLimited when either is reached. Update MUST change the inquiry only
// if its status is one of from (else ErrConflict), and append msg (if not
// nil) with the next seq in the same transaction, refusing with
// ErrTooManyMessages past MaxMessages. Lookups that match nothing return
// ErrNotFound. Notifier MUST NOT return nil, and what it carries MUST
// reach every Service whose Store is on the same database (see
// [Service.Changed]).
type Store interface {
	PutTopic(ctx context.Context, t *Topic) error
	SetTopicOpen(ctx context.Context, agency, id string, open bool) error
	Topic(ctx context.Context, id string) (*Topic, error)
	Topics(ctx context.Context, agency string, openOnly bool) ([]*Topic, error)

	Create(ctx context.Context, inq *Inquiry, first *Message, since time.Time, lim Limits) error
	Inquiry(ctx context.Context, by Lookup) (*Inquiry, error)
	Messages(ctx context.Context, id string) ([]Message, error)
	Update(ctx context.Context, id string, from []string, ch Change, msg *Message, now time.Time) error
	Queue(ctx context.Context, agency, status string, limit int) ([]*Inquiry, error)
	Counts(ctx context.Context, agency string, now time.Time) (Counts, error)

	// Notifier carries the ids of changed inquiries between replicas.
	Notifier() Notifier
}

// Verifier is what the service asks for proofs; *verifier.Service is one.
type Verifier interface {
	CreateSession(ctx context.Context, c *verifier.Counter, nr verifier.NewRequest) (*verifier.Session, error)
	Session(ctx context.Context, c *verifier.Counter, id string) (*verifier.Session, error)
	RequestURI(sess *verifier.Session) string
}

// Config configures the service.
type Config struct {
	Store Store
	// Verifier and Counter, when set, let askers prove claims: the
	// counter must be allowed the inquiry-* purposes (see Purposes).
	Verifier Verifier
	Counter  *verifier.Counter
	// Secret keys the client references (32 bytes), so that no address is
	// stored.
	Secret []byte
	Limits Limits
	Now    func() time.Time
}

// Service is the inquiries service.
type Service struct {
	cfg   Config
	notes Notifier // cfg.Store.Notifier()
}

// New checks the configuration and returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || len(cfg.Secret) != 32 {
		return nil, errors.New("inquiries: a Store and a 32-byte Secret are required")
	}
	if (cfg.Verifier == nil) != (cfg.Counter == nil) {
		return nil, errors.New("inquiries: Verifier and Counter go together")
	}
	if cfg.Limits.PerClientPerHour < 0 || cfg.Limits.GlobalPerHour < 0 {
		return nil, errors.New("inquiries: negative limits")
	}
	if cfg.Limits.PerClientPerHour == 0 {
		cfg.Limits.PerClientPerHour = DefaultPerClientPerHour
	}
	if cfg.Limits.GlobalPerHour == 0 {
		cfg.Limits.GlobalPerHour = DefaultGlobalPerHour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, notes: cfg.Store.Notifier()}
	if s.notes == nil {
		return nil, errors.New("inquiries: the Store has no Notifier")
	}
	return s, nil
}

// CanProve reports whether askers can prove claims here.
func (s *Service) CanProve() bool { return s.cfg.Verifier != nil }

// cleanText trims and bounds a text; it must be valid UTF-8 without
// control characters other than newlines and tabs.
func cleanText(field, v string, max int, required bool) (string, error) {
	v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	if !utf8.ValidString(v) {
		return "", errorf(CodeInvalidRequest, "%s is not valid UTF-8", field)
	}
	if required && v == "" {
		return "", errorf(CodeInvalidRequest, "%s is required", field)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "", errorf(CodeInvalidRequest, "%s is %d characters long; at most %d", field, n, max)
	}
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return "", errorf(CodeInvalidRequest, "%s holds a control character", field)
		}
	}
	return v, nil
}

// NewTopic is what an agency publishes.
type NewTopic struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	ReplyHours  int      `json:"reply_hours"`
	Anonymous   bool     `json:"anonymous"`
	Proofs      []string `json:"proofs"`
}

// PublishTopic adds a topic for an agency.
func (s *Service) PublishTopic(ctx context.Context, agency string, nt NewTopic) (*Topic, error) {
	name, err := cleanText("name", nt.Name, MaxTopicName, true)
	if err != nil {
		return nil, err
	}
	desc, err := cleanText("description", nt.Description, MaxDescription, false)
	if err != nil {
		return nil, err
	}
	if nt.ReplyHours < 1 || nt.ReplyHours > MaxReplyHours {
		return nil, errorf(CodeInvalidRequest, "reply_hours must be between 1 and %d", MaxReplyHours)
	}
	var proofs []string
	for _, p := range nt.Proofs {
		if _, ok := ProofByID(p); !ok {
			return nil, errorf(CodeInvalidRequest, "unknown proof %q (known: resident, age-60)", p)
		}
		if !slices.Contains(proofs, p) {
			proofs = append(proofs, p)
		}
	}
	if len(proofs) > 0 && !s.CanProve() {
		return nil, errorf(CodeProofUnavailable, "this server has no verifier counter for inquiries; publish the topic without proofs")
	}
	if len(proofs) == 0 && !nt.Anonymous {
		return nil, errorf(CodeInvalidRequest, "a topic that refuses anonymous questions must allow at least one proof")
	}
	if proofs == nil {
		proofs = []string{}
	}
	t := &Topic{ID: ids.New("top_"), Agency: agency, Name: name, Description: desc, ReplyHours: nt.ReplyHours,
		Anonymous: nt.Anonymous, Proofs: proofs, Open: true, CreatedAt: s.cfg.Now().UTC().Truncate(time.Second)}
	if err := s.cfg.Store.PutTopic(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// CloseTopic stops new questions on a topic (existing threads go on).
func (s *Service) CloseTopic(ctx context.Context, agency, id string) error {
	return s.cfg.Store.SetTopicOpen(ctx, agency, id, false)
}

// Topic returns a topic.
func (s *Service) Topic(ctx context.Context, id string) (*Topic, error) {
	return s.cfg.Store.Topic(ctx, id)
}

// Topics lists open topics, of one agency or of all ("").
func (s *Service) Topics(ctx context.Context, agency string) ([]*Topic, error) {
	return s.cfg.Store.Topics(ctx, agency, true)
}

// AgencyTopics lists an agency's topics, closed ones too.
func (s *Service) AgencyTopics(ctx context.Context, agency string) ([]*Topic, error) {
	return s.cfg.Store.Topics(ctx, agency, false)
}

// Question is what a citizen asks.
type Question struct {
	Text   string   `json:"text"`
	Proofs []string `json:"proofs,omitempty"`
}

// Asked is what the citizen keeps: the reference, the secret token (shown
// once), and, while a proof is pending, the wallet's request URI.
type Asked struct {
	Inquiry    *Inquiry
	Token      string
	RequestURI string
}

// Ask files a question on a topic. client identifies the asker's client
// for the flood limits (an address; it is stored only as a keyed hash).
func (s *Service) Ask(ctx context.Context, topicID, client string, q Question) (*Asked, error) {
	t, err := s.cfg.Store.Topic(ctx, topicID)
	if err != nil {
		return nil, err
	}
	if !t.Open {
		return nil, errorf(CodeTopicClosed, "this topic takes no new questions")
	}
	text, err := cleanText("text", q.Text, MaxText, true)
	if err != nil {
		return nil, err
	}
	var proofs []string
	for _, p := range q.Proofs {
		if !slices.Contains(t.Proofs, p) {
			return nil, errorf(CodeProofNotAllowed, "topic %q does not ask for %q", t.Name, p)
		}
		if !slices.Contains(proofs, p) {
			proofs = append(proofs, p)
		}
	}
	if len(proofs) == 0 && !t.Anonymous {
		return nil, errorf(CodeProofRequired, "this topic takes no anonymous questions; prove at least one of: %s", strings.Join(t.Proofs, ", "))
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	tok := TokenPrefix + ids.Random(32)
	inq := &Inquiry{ID: ids.New("inq_"), Reference: reference(), Agency: t.Agency, Topic: t.ID, Status: StatusNew,
		Proofs: proofs, TokenHash: hashToken(tok), Client: s.clientRef(client), CreatedAt: now, UpdatedAt: now,
		DueAt: now.Add(time.Duration(t.ReplyHours) * time.Hour)}
	if proofs == nil {
		inq.Proofs = []string{}
	}
	out := &Asked{Inquiry: inq, Token: tok}
	if len(proofs) > 0 {
		if !s.CanProve() {
			return nil, errorf(CodeProofUnavailable, "proofs are not available on this server")
		}
		inq.Status = StatusVerifying
	}
	// The question is stored first, under the flood limits, so a refused
	// question costs no verifier session.
	first := &Message{Seq: 1, Author: AuthorCitizen, Kind: KindMessage, Body: text, At: now}
	if err := s.cfg.Store.Create(ctx, inq, first, now.Add(-time.Hour), s.cfg.Limits); err != nil {
		return nil, err
	}
	if len(proofs) == 0 {
		return out, nil
	}
	sess, err := s.cfg.Verifier.CreateSession(ctx, s.cfg.Counter, verifier.NewRequest{Purpose: PurposeFor(proofs)})
	if err != nil {
		reason := string(verifier.CodeOf(err))
		_ = s.cfg.Store.Update(ctx, inq.ID, []string{StatusVerifying}, Change{Status: StatusFailed, Reason: &reason}, nil, now)
		return nil, err
	}
	if err := s.cfg.Store.Update(ctx, inq.ID, []string{StatusVerifying}, Change{Session: &sess.ID}, nil, now); err != nil {
		return nil, err
	}
	inq.Session, out.RequestURI = sess.ID, sess.RequestURI
	return out, nil
}

func reference() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "INQ-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func (s *Service) clientRef(client string) string {
	m := hmac.New(sha256.New, s.cfg.Secret)
	fmt.Fprintf(m, "inquiries-client\x00%s", client)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// validToken checks a token's shape before any lookup.
func validToken(tok string) bool {
	return strings.HasPrefix(tok, TokenPrefix) && len(tok) <= 128 && len(tok) > len(TokenPrefix)
}

// Thread returns the citizen's thread for a secret token, settling a
// pending proof first. Staff notes are left out; staff ids are removed.
func (s *Service) Thread(ctx context.Context, token string) (*Thread, error) {
	th, err := s.tokenThread(ctx, token)
	if err != nil {
		return nil, err
	}
	// The citizen learns no staff identity: not the assignee, not who wrote.
	th.Inquiry.Assignee = ""
	for i := range th.Messages {
		th.Messages[i].Staff = ""
	}
	return th, nil
}

func (s *Service) tokenThread(ctx context.Context, token string) (*Thread, error) {
	if !validToken(token) {
		return nil, errorf(CodeNotFound, "no inquiry for this link")
	}
	inq, err := s.cfg.Store.Inquiry(ctx, Lookup{TokenHash: hashToken(token)})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errorf(CodeNotFound, "no inquiry for this link")
		}
		return nil, err
	}
	if inq, err = s.settle(ctx, inq); err != nil {
		return nil, err
	}
	return s.thread(ctx, inq)
}

// RequestURI is the wallet request of a verifying inquiry ("" otherwise).
func (s *Service) RequestURI(inq *Inquiry) string {
	if inq.Status != StatusVerifying || !s.CanProve() || inq.Session == "" {
		return ""
	}
	return s.cfg.Verifier.RequestURI(&verifier.Session{ID: inq.Session, Counter: s.cfg.Counter.ID})
}

func (s *Service) thread(ctx context.Context, inq *Inquiry) (*Thread, error) {
	t, err := s.cfg.Store.Topic(ctx, inq.Topic)
	if err != nil {
		return nil, err
	}
	ms, err := s.cfg.Store.Messages(ctx, inq.ID)
	if err != nil {
		return nil, err
	}
	inq.Overdue = inq.Open() && s.cfg.Now().After(inq.DueAt)
	return &Thread{Inquiry: inq, Topic: t, Messages: ms}, nil
}

// settle looks at a verifying inquiry's session: accepted → new, with the
// disclosed claims; rejected or expired → failed.
func (s *Service) settle(ctx context.Context, inq *Inquiry) (*Inquiry, error) {
	if inq.Status != StatusVerifying || !s.CanProve() {
		return inq, nil
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	ch := Change{}
	if inq.Session == "" {
		// Stored, but the verifier session was never recorded (a crash
		// in between): after a minute it is failed, not pending forever.
		if now.Sub(inq.CreatedAt) < time.Minute {
			return inq, nil
		}
		reason := string(verifier.CodeSessionExpired)
		ch.Status, ch.Reason = StatusFailed, &reason
		if err := s.cfg.Store.Update(ctx, inq.ID, []string{StatusVerifying}, ch, nil, now); err != nil && !errors.Is(err, ErrConflict) {
			return nil, err
		}
		return s.cfg.Store.Inquiry(ctx, Lookup{ID: inq.ID})
	}
	sess, err := s.cfg.Verifier.Session(ctx, s.cfg.Counter, inq.Session)
	if err != nil {
		return nil, err
	}
	switch sess.Status {
	case verifier.StatusPending:
		return inq, nil
	case verifier.StatusAccepted:
		ch.Status, ch.Disclosed = StatusNew, disclosed(inq.Proofs, sess.Result)
		t, err := s.cfg.Store.Topic(ctx, inq.Topic)
		if err != nil {
			return nil, err
		}
		due := now.Add(time.Duration(t.ReplyHours) * time.Hour)
		ch.DueAt = &due // the reply time runs from the proof
	default:
		reason := sess.Status
		if sess.Result != nil && sess.Result.Code != "" {
			reason = string(sess.Result.Code)
		}
		ch.Status, ch.Reason = StatusFailed, &reason
	}
	if err := s.cfg.Store.Update(ctx, inq.ID, []string{StatusVerifying}, ch, nil, now); err != nil && !errors.Is(err, ErrConflict) {
		return nil, err
	}
	s.changed(ctx, inq.ID)
	return s.cfg.Store.Inquiry(ctx, Lookup{ID: inq.ID})
}

// disclosed turns a verifier result into labelled facts. Only the claims
// the purpose asked for are in the result (the verifier keeps nothing else).
func disclosed(proofs []string, r *verifier.Result) []Disclosed {
	var out []Disclosed
	if r == nil {
		return out
	}
	for _, id := range proofs {
		p, _ := ProofByID(id)
		for _, c := range r.Credentials {
			if c.QueryID != p.QueryID {
				continue
			}
			d := Disclosed{Proof: p.ID, Label: p.Name, Label2: p.NameZH, Value: "yes", Issuer: c.IssuerDID}
			if p.ID == "resident" {
				if a, ok := c.Claims["address"].(map[string]any); ok {
					if l, ok := a["locality"].(string); ok {
						d.Value = l
					}
				}
			}
			out = append(out, d)
		}
	}
	return out
}

// Reply adds the citizen's message to their thread.
func (s *Service) Reply(ctx context.Context, token, text string) (*Thread, error) {
	th, err := s.tokenThread(ctx, token)
	if err != nil {
		return nil, err
	}
	body, err := cleanText("text", text, MaxText, true)
	if err != nil {
		return nil, err
	}
	inq := th.Inquiry
	switch inq.Status {
	case StatusClosed:
		return nil, errorf(CodeClosed, "this inquiry is closed; ask a new question")
	case StatusVerifying, StatusFailed:
		return nil, errorf(CodeNotVerified, "the proof for this inquiry was not given; ask again")
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	ch := Change{Status: inq.Status}
	if inq.Status == StatusAnswered {
		ch.Status = StatusNew
		if inq.Assignee != "" {
			ch.Status = StatusAssigned
		}
		due := now.Add(time.Duration(th.Topic.ReplyHours) * time.Hour)
		ch.DueAt = &due
	}
	msg := &Message{Author: AuthorCitizen, Kind: KindMessage, Body: body, At: now}
	if err := s.cfg.Store.Update(ctx, inq.ID, []string{inq.Status}, ch, msg, now); err != nil {
		return nil, err
	}
	s.changed(ctx, inq.ID)
	return s.Thread(ctx, token)
}

// Staff is the signed-in staff member: the agency and the actor (an API
// token id) that the thread records.
type Staff struct {
	Agency string
	Actor  string
}

// Inquiry returns an agency's inquiry by reference with its thread.
// Inquiries still waiting for a proof, or whose proof failed, are not
// found: staff see only verified questions.
func (s *Service) Inquiry(ctx context.Context, st Staff, ref string) (*Thread, error) {
	inq, err := s.staffInquiry(ctx, st, ref)
	if err != nil {
		return nil, err
	}
	return s.thread(ctx, inq)
}

func (s *Service) staffInquiry(ctx context.Context, st Staff, ref string) (*Inquiry, error) {
	if st.Agency == "" || len(ref) > 32 {
		return nil, errorf(CodeNotFound, "no inquiry %q", ref)
	}
	inq, err := s.cfg.Store.Inquiry(ctx, Lookup{Agency: st.Agency, Reference: strings.ToUpper(strings.TrimSpace(ref))})
	if err == nil && inq.Status == StatusVerifying {
		inq, err = s.settle(ctx, inq)
	}
	if err == nil && (inq.Status == StatusVerifying || inq.Status == StatusFailed) {
		err = ErrNotFound
	}
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(CodeNotFound, "no inquiry %q at this agency", ref)
	}
	return inq, err
}

// Queue lists an agency's inquiries in a state ("" = open ones), oldest
// first, and the counts.
func (s *Service) Queue(ctx context.Context, agency, status string, limit int) ([]*Inquiry, Counts, error) {
	switch status {
	case "", "open", StatusNew, StatusAssigned, StatusAnswered, StatusClosed, "overdue":
	default:
		return nil, Counts{}, errorf(CodeInvalidRequest, "status must be open, overdue, new, assigned, answered or closed")
	}
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	list, err := s.cfg.Store.Queue(ctx, agency, status, limit)
	if err != nil {
		return nil, Counts{}, err
	}
	now := s.cfg.Now()
	var out []*Inquiry
	for _, i := range list {
		i.Overdue = i.Open() && now.After(i.DueAt)
		if status == "overdue" && !i.Overdue {
			continue
		}
		out = append(out, i)
	}
	c, err := s.cfg.Store.Counts(ctx, agency, now)
	return out, c, err
}

// Counts returns an agency's queue numbers.
func (s *Service) Counts(ctx context.Context, agency string) (Counts, error) {
	return s.cfg.Store.Counts(ctx, agency, s.cfg.Now())
}

// Assign gives an open or answered inquiry to a staff member (assignee ""
// means the actor).
func (s *Service) Assign(ctx context.Context, st Staff, ref, assignee string) (*Thread, error) {
	inq, err := s.staffInquiry(ctx, st, ref)
	if err != nil {
		return nil, err
	}
	who, err := cleanText("assignee", assignee, MaxAssignee, false)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(who, "\n\t") {
		return nil, errorf(CodeInvalidRequest, "assignee is one line")
	}
	if who == "" {
		who = st.Actor
	}
	if inq.Status == StatusClosed {
		return nil, errorf(CodeClosed, "inquiry %s is closed", inq.Reference)
	}
	status := StatusAssigned
	if inq.Status == StatusAnswered {
		status = StatusAnswered // reassigning keeps an answered item answered
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	note := &Message{Author: AuthorStaff, Kind: KindNote, Staff: st.Actor, Body: "assigned to " + who, At: now}
	if err := s.cfg.Store.Update(ctx, inq.ID, []string{inq.Status}, Change{Status: status, Assignee: &who}, note, now); err != nil {
		return nil, err
	}
	s.changed(ctx, inq.ID)
	return s.Inquiry(ctx, st, ref)
}

// Answer replies to the citizen; moreInfo asks them for more instead.
// Either way the item is answered until the citizen writes again.
func (s *Service) Answer(ctx context.Context, st Staff, ref, text string, moreInfo bool) (*Thread, error) {
	inq, err := s.staffInquiry(ctx, st, ref)
	if err != nil {
		return nil, err
	}
	body, err := cleanText("text", text, MaxText, true)
	if err != nil {
		return nil, err
	}
	if inq.Status == StatusClosed {
		return nil, errorf(CodeClosed, "inquiry %s is closed", inq.Reference)
	}
	kind := KindMessage
	if moreInfo {
		kind = KindMoreInfo
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	ch := Change{Status: StatusAnswered}
	if inq.Assignee == "" {
		ch.Assignee = &st.Actor
	}
	msg := &Message{Author: AuthorStaff, Kind: kind, Staff: st.Actor, Body: body, At: now}
	if err := s.cfg.Store.Update(ctx, inq.ID, []string{inq.Status}, ch, msg, now); err != nil {
		return nil, err
	}
	s.changed(ctx, inq.ID)
	return s.Inquiry(ctx, st, ref)
}

// Close closes an inquiry; the citizen can still read it.
func (s *Service) Close(ctx context.Context, st Staff, ref string) (*Thread, error) {
	inq, err := s.staffInquiry(ctx, st, ref)
	if err != nil {
		return nil, err
	}
	if inq.Status == StatusClosed {
		return nil, errorf(CodeClosed, "inquiry %s is already closed", inq.Reference)
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	note := &Message{Author: AuthorStaff, Kind: KindNote, Staff: st.Actor, Body: "closed", At: now}
	if err := s.cfg.Store.Update(ctx, inq.ID, []string{inq.Status}, Change{Status: StatusClosed}, note, now); err != nil {
		return nil, err
	}
	s.changed(ctx, inq.ID)
	return s.Inquiry(ctx, st, ref)
}
