package statuslist_test

import (
	"fmt"

	"github.com/tongid/tong/credential/statuslist"
)

// An issuer revokes the credential at index 7 and suspends the one at 9;
// a verifier decodes the published lst and looks both up.
func Example() {
	l, _ := statuslist.New(2, statuslist.MinHerdSize)
	l.Set(7, statuslist.Invalid)
	l.Set(9, statuslist.Suspended)
	lst, _ := l.Encode()

	got, _ := statuslist.Decode(2, lst)
	for _, i := range []int{7, 8, 9} {
		s, _ := got.Get(i)
		fmt.Println(i, s)
	}
	_, err := got.Get(statuslist.MinHerdSize)
	fmt.Println(statuslist.CodeOf(err))
	// Output:
	// 7 1
	// 8 0
	// 9 2
	// status_index_out_of_range
}
