package adapters

import (
	"errors"
	"testing"
)

func TestParseSetup(t *testing.T) {
	for expr, want := range map[string]string{
		"a":                                 "Stack(a)",
		"Stack(a,b)":                        "Stack(a,b)",
		" Stack( a , b ) ":                  "Stack(a,b)",
		"Fuse(a,b,c)":                       "Fuse(a,b,c)",
		"Parallel(sentiment,spam)":          "Parallel(sentiment,spam)",
		"Stack(a,Parallel(b,c))":            "Stack(a,Parallel(b,c))",
		"Stack(a,Fuse(b,c))":                "Stack(a,Fuse(b,c))",
		"Fuse(Stack(a,b),c)":                "Fuse(Stack(a,b),c)",
		"BatchSplit(a,b,batch_sizes=[5,7])": "BatchSplit(a,b,batch_sizes=[5,7])",
		"BatchSplit(a,b,batch_sizes=3)":     "BatchSplit(a,b,batch_sizes=[3,3])",
		"Split(a,b,splits=[10,38])":         "Split(a,b,splits=[10,38])",
		"Average(a,b,weights=[2,1])":        "Average(a,b,weights=[0.6666666666666666,0.3333333333333333])",
		"Average(a,b)":                      "Average(a,b,weights=[0.5,0.5])",
		"Average(a,b,weights=[2,1],normalize_weights=False)":     "Average(a,b,weights=[2,1],normalize_weights=False)",
		"Parallel(Stack(a,b),BatchSplit(c,d,batch_sizes=[1,1]))": "Parallel(Stack(a,b),BatchSplit(c,d,batch_sizes=[1,1]))",
		"Stack(my-adapter@v1,x.y)":                               "Stack(my-adapter@v1,x.y)",
	} {
		b, err := ParseSetup(expr)
		if err != nil {
			t.Errorf("%q: %v", expr, err)
			continue
		}
		if b.String() != want {
			t.Errorf("%q parsed as %s, want %s", expr, b, want)
		}
	}
	if b, _ := ParseSetup("Fuse(a,Stack(b,c))"); b.Name != "a,c" {
		t.Errorf("Fuse name %q, want a,c (Fuse.name uses each child's last adapter)", b.Name)
	}
}

func TestParseSetupErrors(t *testing.T) {
	for _, expr := range []string{
		"", "Stack(", "Stack()", "Stack(a,,b)", "Stack(a) b", "Nope(a)", "Stack(a)(b)",
		"Fuse(a,Parallel(b,c))",                                  // Fuse allows str, Stack
		"Parallel(a,Fuse(b,c))",                                  // Parallel allows str, Stack, BatchSplit, Average
		"Average(a,Parallel(b,c))",                               // nor does Average
		"Split(a,Fuse(b,c),splits=[1,2])",                        // Split allows str, Split, Stack, BatchSplit, Average
		"Stack(a,Stack(b,Fuse(c,d)))",                            // a block below a nested Stack is too deep
		"Parallel(Stack(a,BatchSplit(b,c,batch_sizes=[1,1])),d)", // too deep
		"BatchSplit(a,b)",                                        // needs batch_sizes
		"BatchSplit(a,b,batch_sizes=[1])",                        // one size per child
		"Split(a,b,splits=[1.5,2])",
		"Average(a,b,weights=[1])",
		"Stack(a,b,weights=[1,1])",
	} {
		_, err := ParseSetup(expr)
		var se *SetupError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want *SetupError", expr, err)
		}
	}
}
