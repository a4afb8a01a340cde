package codes

type Code string

const CodeNotFound Code = "not_found"

const (
	CodeConflict Code = "conflict" // a comment
	// Another type is left out.
	Other string = "other"
)

const CodeA, CodeB Code = "grouped_a", "grouped_b"
