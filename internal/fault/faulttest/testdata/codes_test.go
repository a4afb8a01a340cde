package codes

const codeInTest Code = "test_only"
