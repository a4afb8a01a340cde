package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/web/walletapp"
)

// mountWallet serves the wallet web app at /wallet/ (app, or the embedded
// one when nil).
func mountWallet(r chi.Router, app *walletapp.App) error {
	if app == nil {
		var err error
		if app, err = walletapp.New(walletapp.Config{}); err != nil {
			return err
		}
	}
	r.Get("/wallet", redirectTo("/wallet/"))
	// GET and HEAD only (the app refuses the rest itself, too).
	h := http.StripPrefix("/wallet", app.Handler())
	r.Method(http.MethodGet, "/wallet/*", h)
	r.Method(http.MethodHead, "/wallet/*", h)
	return nil
}

// walletFuncs give templates the same-device buttons: links that open the
// wallet app on this device with the request or offer in the fragment
// (never sent to a server), and the page to come back to.
var walletFuncs = template.FuncMap{
	"walletRequest": func(uri, ret any) string {
		return "/wallet/#request=" + url.QueryEscape(fmt.Sprint(uri)) + "&return=" + url.QueryEscape(fmt.Sprint(ret))
	},
	"walletOffer": func(uri any) string { return "/wallet/#offer=" + url.QueryEscape(fmt.Sprint(uri)) },
}
