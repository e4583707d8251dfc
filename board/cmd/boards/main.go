// Command boards is the Makefile's view of the board profiles:
//
//	boards                   one line per board: NAME GOOS=... GOARCH=... [GOARM=...|GOMIPS=...]
//	boards sizes DIR         the size of DIR/NAME/wampedge and DIR/NAME/wampcat per board
//	boards budget BYTES DIR  fail when a linux/arm wampedge in DIR is larger than BYTES
//	boards space BINARY      what takes the space in an unstripped BINARY: per section, per package
//
// Run it with `go run ./board/cmd/boards`; it builds nothing itself.
package main

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/wampedge/wampedge/board"
)

// The binaries `make cross` builds per board.
var binaries = []string{"wampedge", "wampcat"}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "boards:", err)
		os.Exit(1)
	}
}

func run(args []string, w io.Writer) error {
	cmd := "list"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch {
	case cmd == "list" && len(args) == 0:
		list(w)
		return nil
	case cmd == "sizes" && len(args) == 1:
		return sizes(w, args[0])
	case cmd == "budget" && len(args) == 2:
		limit, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return fmt.Errorf("budget: %q is not a number of bytes", args[0])
		}
		return budget(w, limit, args[1])
	case cmd == "space" && len(args) == 1:
		return space(w, args[0])
	}
	return fmt.Errorf("usage: boards [list | sizes DIR | budget BYTES DIR | space BINARY]")
}

func list(w io.Writer) {
	for _, p := range board.All() {
		fmt.Fprintln(w, p.Name, strings.Join(p.Env(), " "))
	}
}

func sizes(w io.Writer, dir string) error {
	fmt.Fprintf(w, "%-16s %-30s %10s %10s\n", "board", "target", binaries[0], binaries[1])
	for _, p := range board.All() {
		row := fmt.Sprintf("%-16s %-30s", p.Name, p.Target())
		for _, b := range binaries {
			fi, err := os.Stat(filepath.Join(dir, p.Name, b))
			if err != nil {
				return err
			}
			row += fmt.Sprintf(" %10s", mib(fi.Size()))
		}
		fmt.Fprintln(w, row)
	}
	return nil
}

// budget holds the linux/arm wampedge, the one the smallest boards run,
// to limit bytes.
func budget(w io.Writer, limit int64, dir string) error {
	var over []string
	for _, p := range board.All() {
		if p.GOOS != "linux" || p.GOARCH != "arm" {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, p.Name, "wampedge"))
		if err != nil {
			return err
		}
		verdict := "ok"
		if fi.Size() > limit {
			verdict = "OVER BUDGET"
			over = append(over, p.Name)
		}
		fmt.Fprintf(w, "size budget %s: %s wampedge is %d bytes (%s) of %d (%s): %s\n",
			p.Name, p.Target(), fi.Size(), mib(fi.Size()), limit, mib(limit), verdict)
	}
	if len(over) > 0 {
		return fmt.Errorf("wampedge over its %s size budget for %s", mib(limit), strings.Join(over, ", "))
	}
	return nil
}

// space reports what takes the space in an ELF binary built without -s
// -w: the sections that are loaded, then the symbols of those sections
// summed per package. Function tables (.gopclntab) belong to no symbol;
// they grow with the code.
func space(w io.Writer, path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return fmt.Errorf("%s: %v (build it without -ldflags=-s)", path, err)
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return err
	}
	modules := []string{bi.Main.Path}
	for _, m := range bi.Deps {
		modules = append(modules, m.Path)
	}

	var loaded uint64
	var secs []*elf.Section
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && s.Type != elf.SHT_NOBITS && s.Size > 0 {
			secs = append(secs, s)
			loaded += s.Size
		}
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i].Size > secs[j].Size })
	fmt.Fprintf(w, "%s: %s loaded from the file\n\n", path, mib(int64(loaded)))
	for _, s := range secs {
		if s.Size*100 >= loaded { // 1% and more
			fmt.Fprintf(w, "  %-14s %10s %5.1f%%\n", s.Name, mib(int64(s.Size)), pct(s.Size, loaded))
		}
	}

	perPkg := map[string]uint64{}
	var total uint64
	for _, sym := range syms {
		i := int(sym.Section)
		if i <= 0 || i >= len(f.Sections) || sym.Size == 0 {
			continue
		}
		if s := f.Sections[i]; s.Flags&elf.SHF_ALLOC == 0 || s.Type == elf.SHT_NOBITS {
			continue
		}
		perPkg[pkgOf(sym.Name)] += sym.Size
		total += sym.Size
	}
	type row struct {
		pkg  string
		size uint64
	}
	var rows []row
	perOrigin := map[string]uint64{}
	for p, s := range perPkg {
		rows = append(rows, row{p, s})
		perOrigin[origin(p, modules)] += s
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].size > rows[j].size })
	fmt.Fprintf(w, "\nsymbols (code and data): %s; by origin:\n", mib(int64(total)))
	var origins []row
	for o, s := range perOrigin {
		origins = append(origins, row{o, s})
	}
	sort.Slice(origins, func(i, j int) bool { return origins[i].size > origins[j].size })
	for _, o := range origins {
		if o.size*200 < total { // under 0.5%
			continue
		}
		fmt.Fprintf(w, "  %-50s %10s %5.1f%%\n", o.pkg, mib(int64(o.size)), pct(o.size, total))
	}
	const top = 25
	fmt.Fprintf(w, "\nthe %d largest packages:\n", top)
	for i, r := range rows {
		if i == top {
			break
		}
		fmt.Fprintf(w, "  %-50s %10s %5.1f%%\n", r.pkg, mib(int64(r.size)), pct(r.size, total))
	}
	return nil
}

// pkgOf is the package a symbol belongs to, as go tool nm names it:
// "github.com/miekg/dns.(*Msg).Pack" is github.com/miekg/dns. Type
// descriptors and the linker's own symbols (go:string.*, go:itab.*) get
// a group of their own.
func pkgOf(sym string) string {
	switch {
	case strings.HasPrefix(sym, "type:"):
		return "(type descriptors)"
	case strings.HasPrefix(sym, "go:"), strings.HasPrefix(sym, "$"):
		kind, _, _ := strings.Cut(sym, ".")
		return "(" + kind + ")"
	}
	name, _, _ := strings.Cut(sym, "[") // generic instances name other packages
	slash := strings.LastIndex(name, "/")
	if dot := strings.Index(name[slash+1:], "."); dot >= 0 {
		return name[:slash+1+dot]
	}
	return "(" + sym + ")"
}

// origin groups a package: the Go module it comes from (as the binary's
// build info lists them), or a tree of the standard library (crypto/...,
// net/...).
func origin(pkg string, modules []string) string {
	if pkg == "main" {
		return modules[0]
	}
	best := ""
	for _, m := range modules {
		if (pkg == m || strings.HasPrefix(pkg, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	switch first, _, _ := strings.Cut(pkg, "/"); {
	case best != "":
		return best
	case strings.HasPrefix(pkg, "(") || strings.HasPrefix(pkg, "$"):
		return "linker data (types, strings, itabs)"
	case first == "vendor" || first == "internal":
		return "standard library: internal/..., vendor/..."
	default:
		return "standard library: " + first + "/..."
	}
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/board.MiB) }

func pct(n, of uint64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
