package main

import (
	"io"
	"time"

	"github.com/rs/zerolog"
)

// newLogger builds the root logger; every other logger derives from it.
func newLogger(w io.Writer, format string, level zerolog.Level) zerolog.Logger {
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}
