package cli

import (
	"bytes"
	"io"
	"strings"
	"text/tabwriter"
)

// table aligns rows of cells in columns two spaces apart, without trailing
// blanks, so that output compares stably in golden files. Short rows are
// padded with empty cells: tabwriter aligns a column only over consecutive
// lines that all have it.
type table struct {
	rows [][]string
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	var buf bytes.Buffer
	width := 0
	for _, r := range t.rows {
		width = max(width, len(r))
	}
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, r := range t.rows {
		line := strings.Join(r, "\t") + strings.Repeat("\t", width-len(r))
		if _, err := io.WriteString(tw, line+"\n"); err != nil {
			return err
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}
