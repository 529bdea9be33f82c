// Command adapterwasm tokenizes, embeds and classifies text with a BERT-family base model and
// AdapterHub adapters, and converts, indexes and fetches the files the browser package uses.
//
// Texts come from stdin, one per line, or as JSON lines {"text": …} with --jsonl; results go to
// stdout as one JSON object per line. Errors go to stderr with a non-zero exit status.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// command is one subcommand. Each lives in its own file and registers itself in init.
type command struct {
	name    string
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError marks a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A bug must not print a goroutine dump at users: report it as an error.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "adapterwasm: internal error: %v\n", r)
			code = 3
		}
	}()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "adapterwasm: unknown command %q\n", args[0])
		printUsage(stderr)
		return 2
	}
	kernels.RequestRelaxed(false) // a command asks for the 7-bit recipe itself (--relaxed-simd)
	defer kernels.RequestRelaxed(false)
	err := c.run(args[1:], stdin, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "adapterwasm %s: %v\n", c.name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "adapterwasm %s: %v\n", c.name, err)
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: adapterwasm <command> [flags]   (adapterwasm <command> -h for flags)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}

// newFlags returns a FlagSet that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("adapterwasm "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// addRelaxedFlag adds --relaxed-simd: q8 products by the 7-bit recipe the package runs with
// relaxedSimd: true, in plain Go here (kernels.RequestRelaxed), with the package's answers bit
// for bit.
func addRelaxedFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("relaxed-simd", false, "q8 models: the 7-bit activation recipe of the JS package's relaxedSimd option (its plain-Go twin here: the package's answers with that option, bit for bit)")
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{msg: "unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	return nil
}

// maxBatchFlag bounds --batch: texts per forward pass (as many as BatchSplit may ask for). The
// batch is allocated before the first text is read: --batch 10^12 was a fatal out-of-memory.
const maxBatchFlag = adapters.MaxBatchSplit

// maxLengthFlag bounds --max-length: the largest max_position_embeddings bert accepts.
const maxLengthFlag = 1 << 16

func checkBatch(n int) error {
	if n < 1 || n > maxBatchFlag {
		return &usageError{msg: fmt.Sprintf("--batch must be from 1 to %d", maxBatchFlag)}
	}
	return nil
}

func checkMaxLength(n int) error {
	if n < 0 || n > maxLengthFlag {
		return &usageError{msg: fmt.Sprintf("--max-length must be from 0 (the model's) to %d", maxLengthFlag)}
	}
	return nil
}

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
