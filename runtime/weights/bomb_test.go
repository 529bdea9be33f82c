package weights

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// deflatedStorageZip is a torch.save archive with k tensors, each of its own storage of n float32
// zeros (n a multiple of 16), deflated: a file of ~4kn/1000 bytes that inflates to 4kn. torch.save stores records
// uncompressed; only a hand-made (or re-zipped) archive deflates them.
func deflatedStorageZip(t testing.TB, k, n int) []byte {
	i32 := func(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	p := (&pk{}).op(opPROTO, 2, opEMPTY_DICT, opMARK)
	for i := range k {
		key := strconv.Itoa(i)
		p.str("w"+key).global("torch._utils", "_rebuild_tensor_v2").op(opMARK)
		p.op(opMARK).str("storage").global("torch", "FloatStorage").str(key).str("cpu").op(opBININT).op(i32(n)...).op(opTUPLE, opBINPERSID)
		p.int1(0).op(opMARK, opBININT).op(i32(n)...).op(opTUPLE, opMARK).int1(1).op(opTUPLE)
		p.op(opNEWFALSE).global("collections", "OrderedDict").op(opEMPTY_TUPLE, opREDUCE, opTUPLE, opREDUCE)
	}
	p.op(opSETITEMS, opSTOP)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	write := func(name string, method uint16, chunks int, chunk []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		for range chunks {
			if _, err := w.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("archive/data.pkl", zip.Store, 1, p.b)
	zeros := make([]byte, 4*n/64) // n is a multiple of 16
	for i := range k {
		write("archive/data/"+strconv.Itoa(i), zip.Deflate, 64, zeros)
	}
	write("archive/version", zip.Store, 1, []byte("3\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestZipBomb: deflated records may not inflate past MaxInflated bytes in all, however honest
// their declared sizes; the archive is refused before anything that large is allocated.
func TestZipBomb(t *testing.T) {
	if testing.Short() || runtime.GOOS == "js" {
		t.Skip("inflates up to 256 MB")
	}
	if f, err := ParsePyTorch("small.bin", deflatedStorageZip(t, 2, 1024)); err != nil || f.Tensors["w1"].NumElements() != 1024 {
		t.Fatalf("small deflated storages: %v", err)
	}
	for _, tc := range []struct {
		name string
		k, n int
	}{
		{"one record", 1, MaxInflated/4 + 1024},
		{"two records, each under the limit", 2, MaxInflated/8 + 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bomb := deflatedStorageZip(t, tc.k, tc.n)
			var a, b runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&a)
			_, err := ParsePyTorch("bomb.bin", bomb)
			runtime.ReadMemStats(&b)
			if err == nil || !isTyped(err) || !strings.HasPrefix(err.Error(), "weights: bomb.bin: ") || !strings.Contains(err.Error(), "inflate") {
				t.Fatalf("err = %v", err)
			}
			grew := b.TotalAlloc - a.TotalAlloc
			t.Logf("%d-byte file declaring %d inflated bytes: %v (%d MB allocated)", len(bomb), 4*tc.k*tc.n, err, grew>>20)
			if limit := uint64(MaxInflated/2 + 16<<20); grew > limit {
				t.Errorf("allocated %d MB refusing a zip bomb (limit %d MB)", grew>>20, limit>>20)
			}
		})
	}
}

// manyRecordsZip is a stored zip archive of a tiny torch.save state dict followed by n empty
// records, written by hand (archive/zip's writer holds a header per record): 100 bytes per record.
func manyRecordsZip(t testing.TB, n int) []byte {
	pkl := stateDict(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 1, 0, []byte{1}, []byte{1}) })
	type rec struct {
		name string
		data []byte
		off  int
	}
	recs := []rec{{name: "archive/data.pkl", data: pkl}, {name: "archive/data/0", data: f32bytes(1)}, {name: "archive/version", data: []byte("3\n")}}
	for i := range n {
		recs = append(recs, rec{name: "archive/x/" + strconv.Itoa(i)})
	}
	le16 := func(b []byte, v int) []byte { return append(b, byte(v), byte(v>>8)) }
	le32 := func(b []byte, v uint32) []byte { return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
	var b []byte
	for i := range recs {
		r := &recs[i]
		r.off = len(b)
		crc := crc32.ChecksumIEEE(r.data)
		b = le32(b, 0x04034b50)
		b = le16(le16(le16(le16(le16(b, 20), 0), 0), 0), 0)
		b = le32(le32(le32(b, crc), uint32(len(r.data))), uint32(len(r.data)))
		b = le16(le16(b, len(r.name)), 0)
		b = append(append(b, r.name...), r.data...)
	}
	cd := len(b)
	for _, r := range recs {
		crc := crc32.ChecksumIEEE(r.data)
		b = le32(b, 0x02014b50)
		b = le16(le16(le16(le16(le16(le16(b, 20), 20), 0), 0), 0), 0)
		b = le32(le32(le32(b, crc), uint32(len(r.data))), uint32(len(r.data)))
		b = le16(le16(le16(le16(le16(b, len(r.name)), 0), 0), 0), 0)
		b = le32(le32(b, 0), uint32(r.off))
		b = append(b, r.name...)
	}
	cdSize := len(b) - cd
	b = le32(b, 0x06054b50)
	b = le16(le16(le16(le16(b, 0), 0), len(recs)), len(recs)) // counts mod 2^16, as archive/zip compares them
	b = le32(le32(b, uint32(cdSize)), uint32(cd))
	return le16(b, 0)
}

// TestManyZipRecords: an archive of more records than a state dict needs is refused before
// archive/zip reads its directory (a File per record, ~8 times the directory's size), counting
// directory signatures without allocating; one under the bound still loads.
func TestManyZipRecords(t *testing.T) {
	if f, err := ParsePyTorch("few.bin", manyRecordsZip(t, 100)); err != nil || f.Tensors["w"] == nil {
		t.Fatalf("100 extra records: %v", err)
	}
	for _, n := range []int{maxZipRecords, 300_000} {
		b := manyRecordsZip(t, n)
		var err error
		var a, c runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		_, err = ParsePyTorch("many.bin", b)
		runtime.ReadMemStats(&c)
		grew := c.TotalAlloc - a.TotalAlloc
		t.Logf("%d records, %d MB file: %v; %d MB allocated", n+3, len(b)>>20, err, grew>>20)
		if !isTyped(err) || !strings.Contains(err.Error(), "weights: many.bin: unsupported: zip archive with more than 65536 records") {
			t.Fatalf("err = %v", err)
		}
		if grew > 1<<20 {
			t.Errorf("allocated %d KB refusing it", grew>>10)
		}
	}
}
