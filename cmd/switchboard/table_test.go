package main

import (
	"strings"
	"testing"
)

func TestPrintTable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header []string
		rows   [][]string
		want   string
	}{
		{"no rows", []string{"DOMAIN", "NAME", "CREATED"}, nil, "DOMAIN  NAME  CREATED\n"},
		{"users",
			[]string{"EXTENSION", "NAME", "LEVEL"},
			[][]string{{"101", "Peter Gibbons", "site-manager"}, {"102", "Milton Waddams", "user"}},
			"EXTENSION  NAME            LEVEL\n" +
				"101        Peter Gibbons   site-manager\n" +
				"102        Milton Waddams  user\n"},
		{"empty cell, spaces in cells",
			[]string{"NUMBER", "PROVIDER", "ASSIGNED TO"},
			[][]string{{"+14155550100", "", "102, 103"}, {"+14155550101", "sim", "nobody"}},
			"NUMBER        PROVIDER  ASSIGNED TO\n" +
				"+14155550100            102, 103\n" +
				"+14155550101  sim       nobody\n"},
	} {
		var b strings.Builder
		if err := printTable(&b, tc.header, tc.rows); err != nil {
			t.Errorf("%s: printTable: %v", tc.name, err)
		}
		if got := b.String(); got != tc.want {
			t.Errorf("%s: printTable wrote\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}
