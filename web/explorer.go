package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/didregistry"
	regstore "github.com/tongid/tong/didregistry/store"
	"github.com/tongid/tong/internal/httpx"
)

// Explorer is what the registry explorer reads: the log, its verifier
// key, and the checkpoint as served (with witnesses' cosignatures, if any).
type Explorer struct {
	Log    *regstore.Log
	LogKey string
	// Served returns the checkpoint /log/checkpoint serves; nil means the
	// log's own newest.
	Served func() []byte
}

func (s *Server) explorerRoutes(r chi.Router) {
	r.Get("/explorer/", s.explorerHome)
	r.Get("/explorer/did", s.explorerSearch)
	r.Get("/explorer/did/{did}", s.explorerDID)
}

type explorerHome struct {
	page
	Checkpoint string
	Served     string
	LogKey     string
	Size       int64
}

func (s *Server) explorerHomeData() explorerHome {
	ex := s.cfg.Explorer
	p := ex.Log.Latest()
	d := explorerHome{page: page{Title: "Registry · 登记簿"}, Checkpoint: string(p.Signed), LogKey: ex.LogKey, Size: p.Size}
	if ex.Served != nil {
		if c := ex.Served(); len(c) > 0 && !bytes.Equal(c, p.Signed) {
			d.Served = string(c)
		}
	}
	return d
}

func (s *Server) explorerHome(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "explorer.html", s.explorerHomeData())
}

func (s *Server) explorerSearch(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("did"))
	if !strings.HasPrefix(id, "did:tong:") {
		d := s.explorerHomeData()
		d.Error = "Enter a did:tong DID. 请输入 did:tong 标识。 It starts with did:tong:z. 以 did:tong:z 开头。"
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, "explorer.html", d)
		return
	}
	httpx.Redirect(w, r, "/explorer/did/"+id, http.StatusSeeOther)
}

// explorerEntry is one operation with what the browser needs to check it.
type explorerEntry struct {
	Index     int64
	Type      string
	Time      string
	Version   string
	Leaf      string // base64 of the exact leaf bytes
	Proof     string // JSON array of base64 hashes
	Operation string // indented, for people
}

func (s *Server) explorerDID(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "did")
	l := s.cfg.Explorer.Log
	chain, err := l.Chain(ctx, id)
	if err != nil || len(chain) == 0 {
		d := s.explorerHomeData()
		d.Error = "No such DID in the registry. 登记簿中没有该标识。 Check it for typing errors. 请检查是否输入有误。"
		w.WriteHeader(http.StatusNotFound)
		s.render(w, r, "explorer.html", d)
		return
	}
	p := l.Latest()
	var entries []explorerEntry
	for _, e := range chain {
		op, err := didregistry.ParseOperation(e.Leaf)
		if err != nil {
			http.Error(w, "corrupt log entry", http.StatusInternalServerError)
			return
		}
		proof, err := l.ProveInclusion(ctx, e.Index, p.Size)
		if err != nil {
			http.Error(w, "no proof", http.StatusInternalServerError)
			return
		}
		hashes := make([]string, len(proof))
		for i, h := range proof {
			hashes[i] = base64.StdEncoding.EncodeToString(h[:])
		}
		pj, _ := json.Marshal(hashes)
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, e.Leaf, "", "  ")
		entries = append(entries, explorerEntry{Index: e.Index, Type: op.Type, Time: op.VersionTime, Leaf: base64.StdEncoding.EncodeToString(e.Leaf),
			Proof: string(pj), Operation: pretty.String()})
	}
	st, _ := l.State(ctx, id)
	var doc bytes.Buffer
	if st != nil {
		_ = json.Indent(&doc, st.Document, "", "  ")
	}
	accs, _ := l.Accreditations(ctx, id)
	s.render(w, r, "did.html", struct {
		page
		DID            string
		State          *didregistry.State
		Document       string
		Entries        []explorerEntry
		Accreditations []regstore.AccreditationRecord
		Checkpoint     string
		LogKey         string
		Size           int64
	}{page{Title: id}, id, st, doc.String(), entries, accs, string(p.Signed), s.cfg.Explorer.LogKey, p.Size})
}
