package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"facteur.dev/facteur/internal/config"
	"facteur.dev/facteur/internal/queue"
)

const queueUsage = `queue list | show ID | flush [ID] | hold ID | release ID | delete ID

Acts on the running server's outbound queue through its control socket
(data_dir/control.sock).
  list         every queued message: ID, size, age, sender, recipients, last error
               (--json: the same as JSON, also for show)
  show ID      one message with the state of each recipient
  flush [ID]   try one message (or every message not held) now
  hold ID      keep a message from being sent until released
  release ID   let a held message be sent again
  delete ID    remove a message from the queue without a bounce
Exit status: 0 done, 1 no such message or the server is not running, 2 usage.`

func runQueue(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "queue", queueUsage)
	asJSON := fs.Bool("json", false, "with list and show: print JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usagef("queue: no subcommand")
	}
	sub, rest := pos[0], pos[1:]
	var id int64
	needID := map[string]bool{"show": true, "hold": true, "release": true, "delete": true}
	switch {
	case sub == "list" && len(rest) == 0, sub == "flush" && len(rest) == 0:
	case (needID[sub] && len(rest) == 1) || (sub == "flush" && len(rest) == 1):
		if id, err = strconv.ParseInt(rest[0], 10, 64); err != nil || id <= 0 {
			return usagef("queue %s: %q is not a queue ID", sub, rest[0])
		}
	case needID[sub] || sub == "list" || sub == "flush":
		fs.Usage()
		return usagef("queue %s: wrong number of arguments", sub)
	default:
		fs.Usage()
		return usagef("queue: unknown subcommand %q", sub)
	}
	cfg, err := config.Load(e.configPath)
	if err != nil {
		return err
	}
	c := controlClient(controlSocket(cfg))
	switch sub {
	case "list":
		var list []queue.Entry
		if err := c.do(ctx, "GET", "/queue", &list); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, list)
		}
		printQueue(e.stdout, list)
	case "show":
		var en queue.Entry
		if err := c.do(ctx, "GET", fmt.Sprintf("/queue/%d", id), &en); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, en)
		}
		printEntry(e.stdout, en)
	case "flush":
		if id == 0 {
			var r struct{ Flushed int }
			if err := c.do(ctx, "POST", "/queue/flush", &r); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%d message(s) scheduled for delivery now\n", r.Flushed)
			return nil
		}
		if err := c.do(ctx, "POST", fmt.Sprintf("/queue/%d/flush", id), nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "message %d scheduled for delivery now\n", id)
	case "hold", "release":
		if err := c.do(ctx, "POST", fmt.Sprintf("/queue/%d/%s", id, sub), nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "message %d %s\n", id, map[string]string{"hold": "held", "release": "released"}[sub])
	case "delete":
		if err := c.do(ctx, "DELETE", fmt.Sprintf("/queue/%d", id), nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "message %d deleted\n", id)
	}
	return nil
}

type control struct {
	sock string
	hc   *http.Client
}

func controlClient(sock string) *control {
	return &control{sock: sock, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}}
}

// do calls the control API and decodes its answer into out.
func (c *control) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://facteur"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server's control socket %s (is 'facteur serve' running?): %w", c.sock, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return errors.New(e.Error)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printQueue(w io.Writer, list []queue.Entry) {
	if len(list) == 0 {
		fmt.Fprintln(w, "Queue is empty.")
		return
	}
	fmt.Fprintf(w, "%-8s %8s %-7s %-8s %s\n", "ID", "SIZE", "AGE", "STATE", "SENDER -> RECIPIENTS")
	for _, en := range list {
		state := "queued"
		if en.Held {
			state = "held"
		} else if en.Attempts > 0 {
			state = "deferred"
		}
		sender := en.Sender
		if sender == "" {
			sender = "<>"
		}
		fmt.Fprintf(w, "%-8d %8d %-7s %-8s %s -> %s\n", en.ID, en.Size, age(time.Since(en.Created)), state,
			sender, strings.Join(pending(en), ", "))
		if en.LastError != "" {
			fmt.Fprintf(w, "%-8s %s\n", "", en.LastError)
		}
	}
	fmt.Fprintf(w, "%d message(s)\n", len(list))
}

// pending lists the recipients still to be delivered.
func pending(en queue.Entry) []string {
	var out []string
	for i, r := range en.Recipients {
		if i >= len(en.Status) || en.Status[i].State == "" {
			out = append(out, r)
		}
	}
	return out
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func printEntry(w io.Writer, en queue.Entry) {
	sender := en.Sender
	if sender == "" {
		sender = "<> (a bounce)"
	}
	fmt.Fprintf(w, "ID:           %d\nSender:       %s\nDomain:       %s\nSize:         %d bytes\n", en.ID, sender, en.Domain, en.Size)
	fmt.Fprintf(w, "Queued:       %s\nAttempts:     %d\n", en.Created.Format(time.RFC3339), en.Attempts)
	if en.Held {
		fmt.Fprintf(w, "Next attempt: held (facteur queue release %d)\n", en.ID)
	} else {
		fmt.Fprintf(w, "Next attempt: %s\n", en.NextAttempt.Format(time.RFC3339))
	}
	fmt.Fprintln(w, "Recipients:")
	for i, r := range en.Recipients {
		state, reply := "pending", ""
		if i < len(en.Status) {
			if en.Status[i].State != "" {
				state = en.Status[i].State
			}
			reply = en.Status[i].Reply
		}
		fmt.Fprintf(w, "  %-30s %-9s %s\n", r, state, reply)
	}
}
