package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/inquiries/sqlstore"
	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/verifier"
)

// citizenServices are the demo's meetings and payments services and the
// counters they ask through.
type citizenServices struct {
	meetings  *meetings.Service
	payments  *payments.Service
	inquiries *inquiries.Service
	meetCtr   *verifier.Counter
	payCtr    *verifier.Counter
}

// openServices starts the citizen services on the demo counters: the
// payment hall takes fees, the meeting reception books and checks in.
func openServices(ctx context.Context, db *store.DB, kd *keys.Dir, ver *verifier.Service, counters []demoCounter, data string) (*citizenServices, error) {
	if len(counters) < 2 {
		return nil, fmt.Errorf("the citizen services need the two demo counters")
	}
	secret, err := keys.LoadOrCreateMasterKey(filepath.Join(data, "services.secret"))
	if err != nil {
		return nil, err
	}
	payCtr, err := ver.Authenticate(ctx, counters[0].Token)
	if err != nil {
		return nil, err
	}
	meetCtr, err := ver.Authenticate(ctx, counters[1].Token)
	if err != nil {
		return nil, err
	}
	org, err := ver.Org(ctx, payCtr.Org)
	if err != nil {
		return nil, err
	}
	signer, err := kd.Load(org.KeyName)
	if err != nil {
		return nil, err
	}
	cs := &citizenServices{meetCtr: meetCtr, payCtr: payCtr}
	if cs.meetings, err = meetings.New(ctx, meetings.Config{DB: db, Verifier: ver, Booking: meetCtr, CheckIn: meetCtr, Secret: secret}); err != nil {
		return nil, err
	}
	if cs.payments, err = payments.New(ctx, payments.Config{DB: db, Verifier: ver, Counter: payCtr, Payee: org.Name,
		Signer: signer, KeyID: org.KeyID, Issuer: org.DID, Secret: secret}); err != nil {
		return nil, err
	}
	// Inquiries: askers prove claims through the hall's inquiries counter.
	icfg := inquiries.Config{Secret: secret}
	if icfg.Store, err = sqlstore.Open(ctx, db); err != nil {
		return nil, err
	}
	if len(counters) > 2 {
		if icfg.Counter, err = ver.Authenticate(ctx, counters[2].Token); err != nil {
			return nil, err
		}
		icfg.Verifier = ver
	}
	if cs.inquiries, err = inquiries.New(icfg); err != nil {
		return nil, err
	}
	return cs, nil
}

// seedServices gives the demo three officials with slots for the coming
// week and a few fee orders, once.
func (cs *citizenServices) seed(ctx context.Context) error {
	if offs, err := cs.meetings.Officials(ctx); err != nil || len(offs) > 0 {
		return err
	}
	officials := []meetings.Official{
		{Name: "张伟 Zhang Wei", Title: "Director, Housing Office", Agency: "Dongcheng District"},
		{Name: "李娜 Li Na", Title: "Head of Civil Affairs", Agency: "Dongcheng District"},
		{Name: "王强 Wang Qiang", Title: "Ombudsman", Agency: "Beijing Municipal Government"},
	}
	topics := []string{"Housing subsidy 住房补贴", "Residence registration 户籍登记", "Complaints 投诉建议"}
	day := time.Now().Truncate(24 * time.Hour).Add(24 * time.Hour)
	for i, o := range officials {
		off, err := cs.meetings.AddOfficial(ctx, o)
		if err != nil {
			return err
		}
		for d := range 5 {
			for _, hour := range []int{9, 10, 14, 15} {
				at := day.AddDate(0, 0, d).Add(time.Duration(hour+i) * time.Hour)
				if _, err := cs.meetings.Publish(ctx, off.ID, at, 30, fmt.Sprintf("Room %d, Dongcheng service hall", 101+i), topics[i]); err != nil {
					return err
				}
			}
		}
	}
	if err := cs.seedInquiries(ctx); err != nil {
		return err
	}
	for i, o := range []struct {
		desc string
		fen  int64
	}{{"Residence certificate 居住证明", 2000}, {"Passport photo service 证件照", 3500}, {"Business licence renewal 营业执照换发", 12000}, {"Parking permit 停车许可", 30000}} {
		if _, err := cs.payments.CreateOrder(ctx, "Dongcheng service hall", fmt.Sprintf("FEE-%s-%03d", time.Now().Format("20060102"), i+1), o.desc, o.fen); err != nil {
			return err
		}
	}
	return nil
}

// seedInquiries gives the demo agencies topics to be asked about, once.
func (cs *citizenServices) seedInquiries(ctx context.Context) error {
	if ts, err := cs.inquiries.AgencyTopics(ctx, "housing"); err != nil || len(ts) > 0 {
		return err
	}
	proofs := func(p ...string) []string {
		if !cs.inquiries.CanProve() {
			return nil
		}
		return p
	}
	for _, t := range []struct {
		agency string
		nt     inquiries.NewTopic
	}{
		{"housing", inquiries.NewTopic{Name: "Housing subsidy 住房补贴", Description: "Who may apply, which documents, how long it takes. 申请条件、材料与办理时限。",
			ReplyHours: 72, Anonymous: true, Proofs: proofs("resident")}},
		{"housing", inquiries.NewTopic{Name: "Residence certificate 居住证明", Description: "Getting or renewing a proof of residence. 办理或续办居住证明。",
			ReplyHours: 48, Anonymous: true}},
		{"psb", inquiries.NewTopic{Name: "Senior citizen card 老年人优待证", Description: "For Beijing residents aged 60 or over. 面向60岁以上北京市居民。",
			ReplyHours: 48, Anonymous: !cs.inquiries.CanProve(), Proofs: proofs("resident", "age-60")}},
	} {
		if _, err := cs.inquiries.PublishTopic(ctx, t.agency, t.nt); err != nil {
			return err
		}
	}
	return nil
}
