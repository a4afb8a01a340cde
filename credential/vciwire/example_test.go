package vciwire_test

import (
	"encoding/json"
	"fmt"

	"github.com/tongid/tong/credential/vciwire"
)

// A wallet reads a Credential Offer (the example of OpenID4VCI 1.0
// §4.1.3): the pre-authorized code, and whether a Transaction Code is
// required (tx_code is present, even empty).
func ExampleCredentialOffer() {
	body := `{
	  "credential_issuer": "https://credential-issuer.example.com",
	  "credential_configuration_ids": ["UniversityDegree_LDP_VC"],
	  "grants": {
	    "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
	      "pre-authorized_code": "adhjhdjajkdkhjhdj",
	      "tx_code": {}
	    }
	  }
	}`
	var o vciwire.CredentialOffer
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		fmt.Println(err)
		return
	}
	g := o.Grants[vciwire.GrantPreAuthorizedCode]
	fmt.Println(o.CredentialIssuer, o.CredentialConfigurationIDs[0])
	fmt.Println("code:", g.PreAuthorizedCode, "needs tx_code:", g.TxCode != nil)
	// Output:
	// https://credential-issuer.example.com UniversityDegree_LDP_VC
	// code: adhjhdjajkdkhjhdj needs tx_code: true
}

// The issuer writes a Credential Response; one credential per key proof.
func ExampleCredentialResponse() {
	b, _ := json.Marshal(vciwire.CredentialResponse{
		Credentials:    []vciwire.IssuedCredential{{Credential: "eyJ...~"}},
		NotificationID: "3fwe98js",
	})
	fmt.Println(string(b))
	// Output:
	// {"credentials":[{"credential":"eyJ...~"}],"notification_id":"3fwe98js"}
}
