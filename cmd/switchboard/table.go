package main

import (
	"io"
	"strings"
	"text/tabwriter"
)

// printTable writes header and rows to w as the list commands show them:
// columns aligned with two spaces between them, one line a row.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, cells := range append([][]string{header}, rows...) {
		if _, err := io.WriteString(tw, strings.Join(cells, "\t")+"\n"); err != nil {
			return err
		}
	}
	return tw.Flush()
}
