package web

// ExplainForTest returns a code's explanation: what happened and what to
// do, in English and Chinese; empty strings for a code not in the table.
func ExplainForTest(code string) [4]string {
	p, ok := problems[code]
	if !ok {
		return [4]string{}
	}
	return [4]string{p.EN, p.ZH, p.NextEN, p.NextZH}
}

// PublicErrorForTest is what a page shows a person for err.
func PublicErrorForTest(err error) string { return publicError(err) }
