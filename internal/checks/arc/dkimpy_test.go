package arc

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dkimpyDiffers are the cases where dkimpy 1.1.4 and this package part.
var dkimpyDiffers = map[string]string{
	// RFC 8617 §4.2.1.1 puts i=0 out of range, so the chain is invalid;
	// dkimpy does not count such fields as ARC at all.
	"fail_instance_zero": "dkimpy says none for fields with i=0",
}

// dkimpy (Debian's python3-dkim), where it is installed, agrees with the
// validator on every chain of arc-validation-tests.yml that it can read:
// those without Ed25519, which dkimpy does not have for ARC.
func TestDkimpyAgrees(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import dkim").Run() != nil {
		t.Skip("no python3-dkim")
	}
	for _, doc := range readDocs[validationDoc](t, "arc-validation-tests.yml") {
		recs, err := json.Marshal(doc.TXTRecords)
		if err != nil {
			t.Fatal(err)
		}
		recFile := filepath.Join(t.TempDir(), "records.json")
		if err := os.WriteFile(recFile, recs, 0o600); err != nil {
			t.Fatal(err)
		}
		for name, tc := range doc.Tests {
			if strings.Contains(tc.Message, "ed25519-sha256") || !strings.EqualFold(tc.CV, "pass") && !strings.EqualFold(tc.CV, "fail") {
				continue
			}
			t.Run(name, func(t *testing.T) {
				if why, ok := dkimpyDiffers[name]; ok {
					t.Skip(why)
				}
				t.Parallel()
				cmd := exec.Command("/usr/bin/python3", filepath.Join("testdata", "dkimpy_arc.py"), "verify", recFile)
				cmd.Stdin = strings.NewReader(crlf(tc.Message))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				cv, _, _ := strings.Cut(string(out), " ")
				if cv == "None" { // dkimpy's word for a chain a cv=fail ended
					cv = "fail"
				}
				if !strings.EqualFold(cv, tc.CV) {
					t.Errorf("dkimpy says %s, want %s", strings.TrimSpace(string(out)), tc.CV)
				}
			})
		}
	}
}
