// hclfmt checks that .tf files are laid out exactly as `terraform fmt` lays them out: it runs
// hclwrite.Format (the formatter `terraform fmt` calls) over every .tf file under the given
// directory and prints each file it would change, with the first line that differs.
//
// Usage: hclfmt DIR. Exit status 0 when every file is unchanged, 1 otherwise, 2 on errors.
// Built by .ci/run from Debian's golang-github-hashicorp-hcl-v2-dev (GOPATH mode, no network);
// used by tests/terraform_emit.rs when KIN_HCLFMT names the binary.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hclfmt DIR")
		os.Exit(2)
	}
	files, changed := 0, 0
	err := filepath.Walk(os.Args[1], func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".tf") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		formatted := hclwrite.Format(src)
		if !bytes.Equal(src, formatted) {
			changed++
			fmt.Printf("%s: terraform fmt would change it%s\n", path, firstDifference(src, formatted))
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("%d files, %d would change\n", files, changed)
	if changed > 0 {
		os.Exit(1)
	}
}

func firstDifference(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf(" (line %d)\n  kin: %q\n  fmt: %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf(" (%d lines, formatted %d)", len(la), len(lb))
}
