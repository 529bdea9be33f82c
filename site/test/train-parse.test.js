// node --test: the "train your own" panel's parsing and dev split (site/train.js), in Node: what
// a pasted or dropped file becomes, and that wrong or hostile input is a ParseError that says
// what is wrong, quickly.
import { test } from "node:test";
import assert from "node:assert/strict";

import { LIMITS, ParseError, parseExamples, splitDev } from "../train.js";

const rejects = (input, re) => assert.throws(() => parseExamples(input), (e) => e instanceof ParseError && re.test(e.message), `${String(input).slice(0, 40)} → ${re}`);

test("label<TAB>text, CSV (quoted, header or not) and JSON lines give the same examples", () => {
  const want = [
    { text: "The food was wonderful, really.", label: "positive" },
    { text: 'Cold "food", and we waited.', label: "negative" },
  ];
  const inputs = {
    tsv: "positive\tThe food was wonderful, really.\n\nnegative\tCold \"food\", and we waited.\n",
    csv: 'positive,"The food was wonderful, really."\r\nnegative,"Cold ""food"", and we waited."\r\n',
    jsonl: want.map((e) => JSON.stringify(e)).join("\n") + "\n\n",
  };
  for (const [format, input] of Object.entries(inputs)) {
    const got = parseExamples(input);
    assert.equal(got.format, format);
    assert.deepEqual(got.examples, want, format);
    assert.deepEqual(got.labels, ["negative", "positive"]);
  }
  // a header names the columns, in any order; a quoted field may span lines; a tab header is skipped
  const h = parseExamples('text,id,label\n"line one\nline two",7,a\nplain,8,b\n');
  assert.deepEqual(h.examples, [{ text: "line one line two", label: "a" }, { text: "plain", label: "b" }]);
  assert.equal(parseExamples("label\ttext\na\tx\nb\ty").examples.length, 2);
  // unquoted CSV without a header: the text keeps its commas
  assert.deepEqual(parseExamples("a,one, two\nb,three").examples[0], { text: "one, two", label: "a" });
  // numbers as JSON labels; blank lines counted
  const j = parseExamples('{"text":"x","label":1}\n\n  \n{"text":"y","label":0}');
  assert.deepEqual(j.labels, ["0", "1"]);
  assert.equal(j.skipped, 2);
});

test("odd Unicode is cleaned, not refused", () => {
  const got = parseExamples("\uFEFFpos\tcafe\u0301 \u0000bell\u0007 \uD800x\u200b\r\nneg\t\u202Eright-to-left\u202C 名前 😀");
  assert.deepEqual(got.examples, [
    { text: "café bell \uFFFDx", label: "pos" },
    { text: "\u202Eright-to-left\u202C 名前 😀", label: "neg" },
  ]);
});

test("wrong or hostile input: a ParseError that says what and where, quickly", () => {
  rejects("", /nothing to train on/);
  rejects("\n\n  \n", /nothing to train on/);
  rejects("pos\tgood\nnone here\n", /line 2: no tab/);
  rejects("pos\tgood\n\tno label\n", /line 2: no label .*label comes first/);
  rejects("pos\tgood\nneg\t   \n", /line 2: no text/);
  rejects('{"text":"a","label":"x"}\n{"text":"b"', /line 2: not JSON/);
  rejects('{"text":"a","label":"x"}\n["b","y"]', /line 2: not a JSON object/);
  rejects('{"text":"a","label":"x"}\n{"text":"b","label":{"y":1}}', /line 2: "label" must be/);
  rejects('a,"never closed\nb,c\n', /line 1: a quoted CSV field is never closed/);
  rejects("just some words\nand more", /one CSV field/);
  rejects("pos\tgood\npos\tfine\n", /only one label/);
  rejects(`pos\tgood\n${"x".repeat(300)}\tlong label\n`, /line 2: a label of 300 bytes/);
  // thousands of labels: the label and text columns swapped, say
  const many = Array.from({ length: 5000 }, (_, i) => `sentence number ${i}\tpos`).join("\n");
  rejects(many, /more than 1,024 different labels.*label comes first/);
  // too many examples, too many bytes: refused, and fast
  let t0 = performance.now();
  rejects(Array.from({ length: LIMITS.examples + 5 }, (_, i) => `${i % 2}\tt`).join("\n"), /more than 20,000 examples/);
  rejects("a\tb\n".repeat(LIMITS.bytes / 4 + 1), /MB of text; at most 20 MB/);
  assert.ok(performance.now() - t0 < 5000, `${performance.now() - t0} ms`);
  // a 19 MB file of one text: read, the text cut to LIMITS.textChars
  t0 = performance.now();
  const long = parseExamples(`a\t${"word ".repeat(3_800_000)}\nb\tshort`);
  assert.equal(long.examples[0].text.length, LIMITS.textChars);
  assert.ok(performance.now() - t0 < 5000, `${performance.now() - t0} ms`);
});

test("splitDev holds out ~10% of each label, seeded, never a label's last two; none below 20 examples", () => {
  const ex = [];
  for (let i = 0; i < 90; i++) ex.push({ text: `p${i}`, label: "pos" });
  for (let i = 0; i < 10; i++) ex.push({ text: `n${i}`, label: "neg" });
  ex.push({ text: "r0", label: "rare" }, { text: "r1", label: "rare" });
  const { train, dev } = splitDev(ex);
  assert.equal(dev.filter((e) => e.label === "pos").length, 9);
  assert.equal(dev.filter((e) => e.label === "neg").length, 1);
  assert.equal(dev.filter((e) => e.label === "rare").length, 0);
  assert.equal(train.length + dev.length, ex.length);
  assert.equal(new Set([...train, ...dev].map((e) => e.text)).size, ex.length);
  assert.deepEqual(splitDev(ex), { train, dev });
  assert.equal(splitDev(ex.slice(0, 19)).dev.length, 0);
  assert.ok(splitDev(Array.from({ length: 5000 }, (_, i) => ({ text: `${i}`, label: `${i % 2}` }))).dev.length === 200);
});
