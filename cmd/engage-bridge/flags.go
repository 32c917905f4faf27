package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// newFlagSet returns a flag set whose errors become usage errors (exit 2)
// and whose help and errors go to out.
func newFlagSet(name, synopsis string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: engage-bridge %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	return parseFlagsArgs(fs, args, 0)
}

// parseFlagsArgs is parseFlags for commands that take up to maxArgs
// arguments after their flags.
func parseFlagsArgs(fs *flag.FlagSet, args []string, maxArgs int) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		if fs.NArg() > maxArgs {
			return &usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(maxArgs))}
		}
		return nil
	case errors.Is(err, flag.ErrHelp):
		return err
	default:
		return &usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
}
