// Package searchbody benchmarks IMAP SEARCH BODY over a large mailbox in
// the SQLite store: the search package's parser and evaluator backed by
// the store's trigram text index, as an IMAP session runs them, and
// (BenchmarkIMAPSearchBody) the same command over a socket to the IMAP
// server; also SORT and THREAD over the whole mailbox. The corpus
// (100,000 generated messages by default) is built in the benchmark's
// setup, so it only runs under -bench:
//
//	go test ./bench/searchbody -run '^$' -bench . -benchtime 10x
//
// FACTEUR_SEARCH_CORPUS=dir keeps the corpus in dir and reuses it on the
// next run; FACTEUR_SEARCH_MESSAGES=n changes its size.
package searchbody
