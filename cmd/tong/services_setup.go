package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/verifier"
)

// citizenServices are the demo's meetings and payments services and the
// counters they ask through.
type citizenServices struct {
	meetings *meetings.Service
	payments *payments.Service
	meetCtr  *verifier.Counter
	payCtr   *verifier.Counter
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
