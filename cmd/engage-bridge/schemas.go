package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/engage-bridge/engage-bridge/schemas"
)

func runSchemas(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("schemas", "schemas [--list] [eventType]\n\nPrints the JSON Schema (draft 2020-12) of the Engage envelope, or of one event\ntype's payload. Extra fields are always allowed: Engage adds fields over time.\n\nExample:\n  engage-bridge schemas point.balance.updated", stderr)
	list := fs.Bool("list", false, "list the schemas instead")
	if err := parseFlagsArgs(fs, args, 1); err != nil {
		return err
	}
	if *list {
		for _, n := range schemas.SchemaNames() {
			fmt.Fprintln(stdout, n)
		}
		return nil
	}
	name := schemas.EnvelopeSchema
	if fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	b, ok := schemas.JSONSchema(name)
	if !ok {
		return &usageError{fmt.Sprintf("schemas: no schema for %q; known: %s", name, strings.Join(schemas.SchemaNames(), ", "))}
	}
	_, err := stdout.Write(b)
	return err
}
