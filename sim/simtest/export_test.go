package simtest

// LoadCases exposes loadCases to the specs.
var LoadCases = loadCases
