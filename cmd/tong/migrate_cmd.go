package main

import (
	"fmt"
	"io"
	"io/fs"

	"github.com/spf13/cobra"

	regstore "github.com/tongid/tong/didregistry/store"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/verifier"
)

// schemas are the components whose tables tong serve keeps, in the order
// they are migrated.
func schemas() []struct {
	component string
	fsys      fs.FS
} {
	return []struct {
		component string
		fsys      fs.FS
	}{
		{regstore.Component, regstore.Schema()},
		{issuer.Component, issuer.Schema()},
		{verifier.Component, verifier.Schema()},
		{meetings.Component, meetings.Schema()},
		{payments.Component, payments.Schema()},
	}
}

// migrateResult is one component's line in `tong admin migrate --json`.
type migrateResult struct {
	Component string `json:"component"`
	Version   int    `json:"version"`
	Applied   int    `json:"applied"`
	Pending   int    `json:"pending"`
}

func newAdminMigrateCmd(a *app) *cobra.Command {
	var data, database string
	var check bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply every component's schema migrations (or, with --check, list those pending)",
		Long: `Migrate brings the database's schema up to this binary's: for each component
(registry, issuer, verifier, meetings, payments) it applies the numbered
migrations the database lacks, each in its own transaction. On PostgreSQL,
concurrent migrators wait for one another, so it is safe while replicas
start. Run it with the new binary before rolling replicas onto it: a
replica refuses a database whose schema is newer than it knows, so old
replicas keep serving until they restart and new ones start at once.

tong serve also applies missing migrations when it starts.`,
		Example: `  tong admin migrate --database postgres://tong@db.internal/tong
  tong admin migrate --check --database postgres://tong@db.internal/tong
  tong admin migrate --data ./tong-data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := openDB(ctx, data, database)
			if err != nil {
				return err
			}
			defer db.Close()
			var out []migrateResult
			for _, s := range schemas() {
				r := migrateResult{Component: s.component}
				if check {
					r.Pending, err = db.Check(ctx, s.component, s.fsys)
				} else {
					r.Applied, err = db.Migrate(ctx, s.component, s.fsys)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", s.component, err)
				}
				if r.Version, err = db.Version(ctx, s.component); err != nil {
					return err
				}
				out = append(out, r)
			}
			return a.printResult(out, func(w io.Writer) {
				for _, r := range out {
					switch {
					case check:
						fmt.Fprintf(w, "%-12s version %d, %d pending\n", r.Component, r.Version, r.Pending)
					default:
						fmt.Fprintf(w, "%-12s version %d (%d applied)\n", r.Component, r.Version, r.Applied)
					}
				}
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&data, "data", "./tong-data", "the data directory whose tong.db to migrate (SQLite)")
	fl.StringVar(&database, "database", "", databaseUsage)
	fl.BoolVar(&check, "check", false, "apply nothing: list the pending migrations, and fail if the database is newer than this binary")
	return cmd
}
