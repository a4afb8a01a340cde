package vpwire_test

import (
	"encoding/json"
	"fmt"

	"github.com/tongid/tong/credential/vpwire"
)

// A wallet reads a Request Object's claims and answers with a vp_token
// keyed by the DCQL Credential Query id.
func Example() {
	payload := []byte(`{"client_id":"redirect_uri:https://client.example.org/post",
		"response_uri":"https://client.example.org/post","response_type":"vp_token",
		"response_mode":"direct_post","nonce":"n-0S6_WzA2Mj","state":"eyJhb...6-sVA",
		"dcql_query":{"credentials":[{"id":"my_credential","format":"dc+sd-jwt"}]}}`)
	var ro vpwire.RequestObject
	if err := json.Unmarshal(payload, &ro); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ro.ResponseMode, ro.ResponseURI)
	form, err := vpwire.Response{VPToken: vpwire.VPToken{"my_credential": {"eyJhbGci...QMA"}}, State: ro.State}.Form()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(form.Encode())
	// Output:
	// direct_post https://client.example.org/post
	// state=eyJhb...6-sVA&vp_token=%7B%22my_credential%22%3A%5B%22eyJhbGci...QMA%22%5D%7D
}

// The Request URI that a verifier's QR code carries.
func ExampleAuthorizationRequest_URI() {
	ar := vpwire.AuthorizationRequest{ClientID: "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk", RequestURI: "https://verifier.example/requests/1"}
	fmt.Println(ar.URI(vpwire.SchemeOpenID4VP))
	// Output:
	// openid4vp://?client_id=x509_hash%3AUvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk&request_uri=https%3A%2F%2Fverifier.example%2Frequests%2F1
}
