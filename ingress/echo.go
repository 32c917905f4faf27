package ingress

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// HTTPHandler returns the webhook listener: POST on each endpoint's path,
// fixed at start, 405 with "Allow: POST" for every other method on one (OPTIONS included:
// Echo's own answer would be 204 and "Allow: OPTIONS, POST"), JSON 404
// everywhere else. This is the only file that knows Echo; everything it
// calls takes net/http types.
func (h *Handler) HTTPHandler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		switch {
		case errors.As(err, &he) && he.Code == http.StatusNotFound:
			err = ErrNotFound
		case errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed:
			err = ErrMethodNotAllowed
		}
		r := c.Request()
		h.respond(c.Response(), r, "", clientIP(r, h.cfg.TrustedProxies), Result{}, err, time.Now())
	}
	for _, ep := range h.endpoints {
		e.POST(ep.path, func(c echo.Context) error {
			// net/http's own writer: it writes the answer's text without
			// a copy (io.StringWriter), which Echo's wrapper does not.
			// No middleware reads Echo's record of the answer.
			h.handle(c.Response().Writer, c.Request(), ep)
			return nil
		})
		// A path's RouteNotFound handler takes precedence over Echo's 405
		// and OPTIONS handlers, and sees every method no route matched.
		e.RouteNotFound(ep.path, func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderAllow, http.MethodPost)
			return ErrMethodNotAllowed
		})
	}
	return e
}
