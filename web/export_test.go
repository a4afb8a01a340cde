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

// QRDataURLForTest draws (or finds) the QR code of content.
func QRDataURLForTest(content string) string { return string(qrDataURL(content)) }

// QRCacheBytesForTest is what the QR cache holds, and its bound.
func QRCacheBytesForTest() (int64, int64) { return qrImages.Bytes(), qrImages.Max() }
