package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// roleLink is one role's page on the home page.
type roleLink struct {
	Href, Who, WhoZH, What, WhatZH string
}

// roles are every role's page, in the order a visitor meets them.
var roles = []roleLink{
	{"/wallet/", "Citizens", "市民", "Wallet: receive and present your credentials", "钱包：领取与出示凭证"},
	{"/inquiries/", "Citizens", "市民", "Ask an agency a question", "向机关咨询"},
	{"/meetings/", "Citizens", "市民", "Book a meeting with an official", "预约会见官员"},
	{"/payments/", "Citizens", "市民", "Pay a fee", "缴纳费用"},
	{"/agency/", "Agency staff", "机关工作人员", "Agency console: issue and revoke credentials, answer inquiries", "机关控制台：签发与撤销凭证、答复咨询"},
	{"/counter/", "Counter staff", "窗口工作人员", "Counter screen: verify a citizen", "窗口：核验市民身份"},
	{"/explorer/", "Auditors and everyone", "审计人员与公众", "Registry explorer: DIDs, accreditations, proofs", "登记簿浏览：DID、授权与证明"},
}

// roleLinks are the role pages this server serves: a page that is not
// mounted (no wallet build, no demo services) is not linked.
func (s *Server) roleLinks() []roleLink {
	mux, ok := s.handler.(chi.Routes)
	var out []roleLink
	for _, l := range roles {
		if ok && !mux.Match(chi.NewRouteContext(), http.MethodGet, l.Href) {
			continue
		}
		out = append(out, l)
	}
	return out
}
