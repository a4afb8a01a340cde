package web

import (
	"net/http"

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
	r.Handle("/wallet/*", http.StripPrefix("/wallet", app.Handler()))
	return nil
}
