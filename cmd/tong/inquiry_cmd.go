package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tongid/tong/internal/qr"
	"github.com/tongid/tong/services/inquiries"
)

// inquiryConn reaches the inquiries API (/inquiries-api/).
type inquiryConn struct{ server string }

func (c *inquiryConn) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.server, "server", "http://127.0.0.1:8080", "Tong server URL")
}

// do sends one request; bearer is the citizen's secret or a staff token.
func (c *inquiryConn) do(ctx context.Context, method, path, bearer string, body, out any) error {
	err := callAPI(ctx, "inquiries", method, strings.TrimSuffix(c.server, "/")+"/inquiries-api"+path, bearer, body, out)
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.Status == http.StatusUnauthorized:
		return withHint(err, "staff commands need an agency API token: --token or TONG_TOKEN (demo tokens are in DATA/demo.json, agencies[].token)")
	case ae.Code == "not_found" && strings.HasPrefix(path, "/thread"):
		return withHint(err, "check --secret (TONG_SECRET): it is the token 'tong inquiry ask' printed")
	case ae.Code == "not_found" && ae.Status == http.StatusNotFound && path == "/":
		return withHint(err, "this server has no inquiries (start it with --demo)")
	}
	return err
}

// textArg is the text from --text, or from --text-file (- for standard
// input).
func textArg(a *app, text, file string) (string, error) {
	switch {
	case text != "" && file != "":
		return "", usagef("give --text or --text-file, not both")
	case file != "":
		raw, err := readInput(a, file)
		if err != nil {
			return "", err
		}
		return string(raw), nil
	case text == "":
		return "", usagef("--text (or --text-file) is required")
	}
	return text, nil
}

func newInquiryCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inquiry",
		Short: "Ask an agency a question, or answer citizens' questions as staff",
		Long: `Inquiry talks to the inquiries service of a Tong server.

Citizens list the topics agencies publish, ask a question (optionally proving,
with their wallet, that they are for example a Beijing resident aged 60 or
over, without saying who they are), and follow the thread with the secret
token that 'ask' prints once (--secret, or TONG_SECRET).

Agency staff (an agency API token: --token, or TONG_TOKEN) publish topics and
work their agency's queue: assign, answer or ask for more, close.`,
		Example: `  # a citizen
  tong inquiry topics
  tong inquiry ask top_... --text "Can I apply for the subsidy while renting?"
  export TONG_SECRET=tong_iq_...      # printed by ask
  tong inquiry show --wait 60s
  tong inquiry reply --text "My lease number is 2024-118."

  # agency staff
  export TONG_TOKEN=tong_at_...       # DATA/demo.json, agencies[].token
  tong inquiry queue --status overdue
  tong inquiry answer INQ-... --text "Yes: bring your lease to the hall."
  tong inquiry close INQ-...`,
	}
	cmd.AddCommand(newInquiryTopicsCmd(a), newInquiryAskCmd(a), newInquiryShowCmd(a), newInquiryReplyCmd(a),
		newInquiryQueueCmd(a), newInquiryViewCmd(a), newInquiryStaffActionCmd(a, "assign"), newInquiryStaffActionCmd(a, "answer"),
		newInquiryStaffActionCmd(a, "close"), newInquiryTopicAddCmd(a))
	return cmd
}

func printTopic(w io.Writer, t *inquiries.Topic) {
	access := "anonymous allowed"
	if !t.Anonymous {
		access = "proof required"
	}
	fmt.Fprintf(w, "%s  %s (%s), replies within %d h, %s", t.ID, t.Name, t.Agency, t.ReplyHours, access)
	if len(t.Proofs) > 0 {
		fmt.Fprintf(w, "; may prove: %s", strings.Join(t.Proofs, ", "))
	}
	if !t.Open {
		fmt.Fprint(w, " [closed]")
	}
	fmt.Fprintln(w)
	if t.Description != "" {
		fmt.Fprintf(w, "    %s\n", t.Description)
	}
}

func newInquiryTopicsCmd(a *app) *cobra.Command {
	c := &inquiryConn{}
	var agency string
	cmd := &cobra.Command{
		Use:     "topics",
		Short:   "List the topics agencies answer questions on",
		Example: "  tong inquiry topics --agency housing --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Topics []*inquiries.Topic `json:"topics"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, "/topics?agency="+url.QueryEscape(agency), "", nil, &out); err != nil {
				return err
			}
			return a.printResult(out, func(w io.Writer) {
				if len(out.Topics) == 0 {
					fmt.Fprintln(w, "No topics.")
				}
				for _, t := range out.Topics {
					printTopic(w, t)
				}
			})
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVar(&agency, "agency", "", "only this agency's topics (its slug, e.g. housing)")
	return cmd
}

func newInquiryAskCmd(a *app) *cobra.Command {
	c := &inquiryConn{}
	var text, file string
	var prove []string
	cmd := &cobra.Command{
		Use:   "ask TOPIC_ID",
		Short: "Ask a question on a topic; prints the reference and the secret token",
		Long: `Ask files a question. It prints a reference and a secret token (shown
once): keep the token, it is the only way to read the answer. With --prove,
it also prints the openid4vp:// request to answer with your wallet (tong
wallet present ...); staff see the question only after the proof, and see
only what you proved.`,
		Example: `  tong inquiry ask top_... --text "Which documents do I need?"
  tong inquiry ask top_... --text-file question.txt --prove resident,age-60 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := textArg(a, text, file)
			if err != nil {
				return err
			}
			var out struct {
				Reference  string `json:"reference"`
				Token      string `json:"token"`
				ThreadURL  string `json:"thread_url"`
				Status     string `json:"status"`
				RequestURI string `json:"request_uri,omitempty"`
			}
			if err := c.do(cmd.Context(), http.MethodPost, "/topics/"+url.PathEscape(args[0])+"/questions", "", inquiries.Question{Text: body, Proofs: prove}, &out); err != nil {
				return err
			}
			return a.printResult(out, func(w io.Writer) {
				fmt.Fprintf(w, "Question %s sent (%s).\n", out.Reference, out.Status)
				fmt.Fprintf(w, "Secret token (shown once; keep it): %s\n", out.Token)
				fmt.Fprintf(w, "Thread page: %s\n", out.ThreadURL)
				if out.RequestURI != "" {
					if q, err := qr.Text(out.RequestURI); err == nil {
						fmt.Fprint(w, q)
					}
					fmt.Fprintf(w, "Prove with your wallet first:\n  tong wallet present '%s'\n", out.RequestURI)
				}
				fmt.Fprintf(w, "Then: TONG_SECRET=%s tong inquiry show --wait 60s\n", out.Token)
			})
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVar(&text, "text", "", "the question")
	cmd.Flags().StringVar(&file, "text-file", "", "read the question from a file, or - for standard input")
	cmd.Flags().StringSliceVar(&prove, "prove", nil, "what to prove with your wallet: resident, age-60 (the topic lists what it accepts)")
	return cmd
}

type inquiryThread struct {
	Inquiry    *inquiries.Inquiry  `json:"inquiry"`
	Topic      *inquiries.Topic    `json:"topic"`
	Messages   []inquiries.Message `json:"messages"`
	RequestURI string              `json:"request_uri,omitempty"`
}

func printThread(w io.Writer, th *inquiryThread, staff bool) {
	i := th.Inquiry
	fmt.Fprintf(w, "%s · %s · %s", i.Reference, th.Topic.Name, strings.ToUpper(i.Status))
	if i.Assignee != "" {
		fmt.Fprintf(w, " (assigned to %s)", i.Assignee)
	}
	if i.Open() {
		fmt.Fprintf(w, ", answer due %s", i.DueAt.Local().Format("2006-01-02 15:04"))
		if i.Overdue {
			fmt.Fprint(w, " PAST REPLY TIME")
		}
	}
	fmt.Fprintln(w)
	if i.Reason != "" {
		fmt.Fprintf(w, "  proof failed: %s\n", i.Reason)
	}
	if th.RequestURI != "" {
		fmt.Fprintf(w, "  waiting for the proof: tong wallet present '%s'\n", th.RequestURI)
	}
	if staff {
		if len(i.Disclosed) == 0 {
			fmt.Fprintln(w, "  asked anonymously")
		}
		for _, d := range i.Disclosed {
			fmt.Fprintf(w, "  proved: %s: %s\n", d.Label, d.Value)
		}
	}
	for _, m := range th.Messages {
		if m.Kind == inquiries.KindNote && !staff {
			continue
		}
		who := "citizen"
		if m.Author == inquiries.AuthorStaff {
			who = "agency"
			if m.Staff != "" {
				who += " (" + m.Staff + ")"
			}
		}
		if m.Kind == inquiries.KindMoreInfo {
			who += ", asks for more"
		}
		if m.Kind == inquiries.KindNote {
			who += ", note"
		}
		fmt.Fprintf(w, "\n[%d] %s, %s:\n%s\n", m.Seq, who, m.At.Local().Format("2006-01-02 15:04"), m.Body)
	}
}

func newInquiryShowCmd(a *app) *cobra.Command {
	c := &inquiryConn{}
	var secret string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show your question's thread (citizen; needs the secret token)",
		Example: "  TONG_SECRET=tong_iq_... tong inquiry show --wait 60s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if secret == "" {
				return usagef("--secret (or TONG_SECRET) is required: the token 'tong inquiry ask' printed")
			}
			path := "/thread"
			if wait > 0 {
				path += fmt.Sprintf("?wait=%d", int(min(wait, time.Minute)/time.Second))
			}
			var th inquiryThread
			if err := c.do(cmd.Context(), http.MethodGet, path, secret, nil, &th); err != nil {
				return err
			}
			return a.printResult(th, func(w io.Writer) { printThread(w, &th, false) })
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVar(&secret, "secret", "", "your inquiry's secret token (tong_iq_...)")
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long (at most 1m) for the thread to change")
	return cmd
}

func newInquiryReplyCmd(a *app) *cobra.Command {
	c := &inquiryConn{}
	var secret, text, file string
	cmd := &cobra.Command{
		Use:     "reply",
		Short:   "Add a message to your question's thread (citizen)",
		Example: `  TONG_SECRET=tong_iq_... tong inquiry reply --text "Here is the number you asked for: 2024-118."`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if secret == "" {
				return usagef("--secret (or TONG_SECRET) is required: the token 'tong inquiry ask' printed")
			}
			body, err := textArg(a, text, file)
			if err != nil {
				return err
			}
			var th inquiryThread
			if err := c.do(cmd.Context(), http.MethodPost, "/thread/messages", secret, map[string]string{"text": body}, &th); err != nil {
				return err
			}
			return a.printResult(th, func(w io.Writer) { printThread(w, &th, false) })
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVar(&secret, "secret", "", "your inquiry's secret token (tong_iq_...)")
	cmd.Flags().StringVar(&text, "text", "", "the message")
	cmd.Flags().StringVar(&file, "text-file", "", "read the message from a file, or - for standard input")
	return cmd
}

func staffToken(token string) error {
	if token == "" {
		return usagef("--token (or TONG_TOKEN) is required: an agency API token (demo: DATA/demo.json, agencies[].token)")
	}
	return nil
}

func newInquiryQueueCmd(a *app) *cobra.Command {
	c := &inquiryConn{}
	var token, status string
	cmd := &cobra.Command{
		Use:     "queue",
		Short:   "List your agency's inquiries and the open and overdue counts (staff)",
		Example: "  tong inquiry queue --token $TOKEN --status overdue --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := staffToken(token); err != nil {
				return err
			}
			var out struct {
				Counts    inquiries.Counts     `json:"counts"`
				Inquiries []*inquiries.Inquiry `json:"inquiries"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, "/agency/inquiries?status="+url.QueryEscape(status), token, nil, &out); err != nil {
				return err
			}
			return a.printResult(out, func(w io.Writer) {
				k := out.Counts
				fmt.Fprintf(w, "%d open (%d new, %d assigned), %d past reply time, %d answered, %d closed\n", k.Open, k.New, k.Assigned, k.Overdue, k.Answered, k.Closed)
				for _, i := range out.Inquiries {
					late := ""
					if i.Overdue {
						late = "  PAST REPLY TIME"
					}
					fmt.Fprintf(w, "%s  %-9s %-12s due %s%s\n", i.Reference, i.Status, i.Assignee, i.DueAt.Local().Format("01-02 15:04"), late)
				}
			})
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVar(&token, "token", "", "the agency's API token")
	cmd.Flags().StringVar(&status, "status", "open", "open, overdue, new, assigned, answered or closed")
	return cmd
}

func newInquiryViewCmd(a *app) *cobra.Command {
	c := &inquiryConn{}
	var token string
	cmd := &cobra.Command{
		Use:     "view REFERENCE",
		Short:   "Show one of your agency's inquiries: what the asker proved, and the thread (staff)",
		Example: "  tong inquiry view INQ-ABCDEFGH --token $TOKEN",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := staffToken(token); err != nil {
				return err
			}
			var th inquiryThread
			if err := c.do(cmd.Context(), http.MethodGet, "/agency/inquiries/"+url.PathEscape(args[0]), token, nil, &th); err != nil {
				return err
			}
			return a.printResult(th, func(w io.Writer) { printThread(w, &th, true) })
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVar(&token, "token", "", "the agency's API token")
	return cmd
}

func newInquiryStaffActionCmd(a *app, action string) *cobra.Command {
	c := &inquiryConn{}
	var token, text, file, to string
	var moreInfo bool
	cmd := &cobra.Command{
		Use:  action + " REFERENCE",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := staffToken(token); err != nil {
				return err
			}
			body := map[string]any{}
			switch action {
			case "answer":
				t, err := textArg(a, text, file)
				if err != nil {
					return err
				}
				body["text"], body["more_info"] = t, moreInfo
			case "assign":
				body["assignee"] = to
			}
			var th inquiryThread
			if err := c.do(cmd.Context(), http.MethodPost, "/agency/inquiries/"+url.PathEscape(args[0])+"/"+action, token, body, &th); err != nil {
				return err
			}
			return a.printResult(th, func(w io.Writer) { printThread(w, &th, true) })
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVar(&token, "token", "", "the agency's API token")
	switch action {
	case "assign":
		cmd.Short = "Assign an inquiry to a staff member (default: yourself) (staff)"
		cmd.Example = "  tong inquiry assign INQ-ABCDEFGH --to \"Li Na\" --token $TOKEN"
		cmd.Flags().StringVar(&to, "to", "", "who handles it (default: your token's id)")
	case "answer":
		cmd.Short = "Reply to the citizen, or ask for more with --more-info (staff)"
		cmd.Example = "  tong inquiry answer INQ-ABCDEFGH --text \"Please send your lease number.\" --more-info --token $TOKEN"
		cmd.Flags().StringVar(&text, "text", "", "the reply")
		cmd.Flags().StringVar(&file, "text-file", "", "read the reply from a file, or - for standard input")
		cmd.Flags().BoolVar(&moreInfo, "more-info", false, "this reply asks the citizen for more information")
	case "close":
		cmd.Short = "Close an inquiry; the citizen can still read it (staff)"
		cmd.Example = "  tong inquiry close INQ-ABCDEFGH --token $TOKEN"
	}
	return cmd
}

func newInquiryTopicAddCmd(a *app) *cobra.Command {
	c := &inquiryConn{}
	var token string
	nt := inquiries.NewTopic{}
	cmd := &cobra.Command{
		Use:   "topic-add",
		Short: "Publish a topic your agency answers questions on (staff)",
		Example: `  tong inquiry topic-add --token $TOKEN --name "Housing subsidy" \
    --description "Who may apply, which documents" --reply-hours 72 --anonymous --prove resident`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := staffToken(token); err != nil {
				return err
			}
			var t inquiries.Topic
			if err := c.do(cmd.Context(), http.MethodPost, "/agency/topics", token, nt, &t); err != nil {
				return err
			}
			return a.printResult(t, func(w io.Writer) { printTopic(w, &t) })
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVar(&token, "token", "", "the agency's API token")
	cmd.Flags().StringVar(&nt.Name, "name", "", "the topic's name")
	cmd.Flags().StringVar(&nt.Description, "description", "", "a short description")
	cmd.Flags().IntVar(&nt.ReplyHours, "reply-hours", 48, "the expected reply time, in hours")
	cmd.Flags().BoolVar(&nt.Anonymous, "anonymous", false, "allow questions without any proof")
	cmd.Flags().StringSliceVar(&nt.Proofs, "prove", nil, "what askers may prove: resident, age-60")
	return cmd
}
