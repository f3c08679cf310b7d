package imapd

import (
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// SEARCH, SORT and THREAD as go-imap v2's client sends and reads them.
func TestSearchClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deliver(e.alice, "INBOX",
		threadMessage("a", "", "Lunch", "Mon, 2 Nov 2026 10:00:00 +0000", "Le caf=C3=A9 est pr=C3=AAt"),
		threadMessage("b", "a", "Re: Lunch", "Mon, 2 Nov 2026 12:00:00 +0000", "see you at the caf=C3=A9"),
		threadMessage("c", "", "Budget", "Sun, 1 Nov 2026 09:00:00 +0000", "Numbers attached"),
	)
	c, err := imapclient.DialStartTLS(e.start(nil), &imapclient.Options{TLSConfig: e.clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.test", password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{"café"}},
		&imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true}).Wait()
	if err != nil || data.Min != 1 || data.Max != 2 || data.Count != 2 {
		t.Errorf("UID SEARCH RETURN: %+v %v", data, err)
	}
	data, err = c.Search(&imap.SearchCriteria{
		Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "carol"}},
		Not:    []imap.SearchCriteria{{Text: []string{"lunch"}}},
	}, nil).Wait()
	if err != nil || !slices.Equal(data.AllSeqNums(), []uint32{3}) {
		t.Errorf("SEARCH FROM NOT TEXT: %v %v", data.AllSeqNums(), err)
	}
	nums, err := c.Sort(&imapclient.SortOptions{
		SearchCriteria: &imap.SearchCriteria{},
		SortCriteria:   []imapclient.SortCriterion{{Key: imapclient.SortKeySubject}, {Key: imapclient.SortKeyDate, Reverse: true}},
	}).Wait()
	if err != nil || !slices.Equal(nums, []uint32{3, 2, 1}) {
		t.Errorf("SORT (SUBJECT REVERSE DATE): %v %v", nums, err)
	}
	// go-imap beta.8 reads one thread-list per SP, where RFC 5256 §4 puts
	// none between them: ask for a single thread.
	threads, err := c.UIDThread(&imapclient.ThreadOptions{Algorithm: imap.ThreadReferences,
		SearchCriteria: &imap.SearchCriteria{Text: []string{"lunch"}}}).Wait()
	if err != nil || len(threads) != 1 || !slices.Equal(threads[0].Chain, []uint32{1, 2}) {
		t.Errorf("UID THREAD REFERENCES: %+v %v", threads, err)
	}
}
