// Command gen prints the benchmark's Sieve script of -n rules.
package main

import (
	"flag"
	"fmt"

	sievebench "facteur.dev/facteur/bench/sieve"
)

func main() {
	n := flag.Int("n", 20, "rules")
	flag.Parse()
	fmt.Print(sievebench.Script(*n))
}
