import assert from "node:assert/strict";
import { test } from "node:test";
import { compareKeys, maxKey, prefixEnd } from "./key-order.js";

const sign = (n: number): number => Math.sign(n);

test("compareKeys agrees with UTF-8 byte order (what SQLite and etcd use)", () => {
  const alphabet = ["a", "/", "\0", "z", "\u00e9", "\ud7ff", "\ue000", "\uffff", "\u{10000}", "\u{1f600}", "\u{10ffff}"];
  let seed = 42;
  const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const word = (): string => Array.from({ length: rnd(4) }, () => alphabet[rnd(alphabet.length)]).join("");
  for (let i = 0; i < 5000; i++) {
    const a = word();
    const b = word();
    assert.equal(sign(compareKeys(a, b)), sign(Buffer.compare(Buffer.from(a), Buffer.from(b))), `${a} vs ${b}`);
  }
});

test("prefixEnd is the tight exclusive upper bound of a prefix", () => {
  assert.equal(prefixEnd("/a/"), "/a0");
  assert.equal(prefixEnd(""), undefined);
  assert.equal(prefixEnd("a\u{10ffff}"), "b");
  assert.equal(prefixEnd("\u{10ffff}"), undefined);
  assert.equal(prefixEnd("x\ud7ff"), "x\ue000", "skips the surrogate block");
  assert.equal(prefixEnd("x\uffff"), "x\u{10000}");
  for (const k of ["/a/", "/a/\u{10ffff}\u{10ffff}", "/a/\uffff"]) assert.ok(compareKeys(k, prefixEnd("/a/")!) < 0);
  assert.ok(compareKeys("/a0", prefixEnd("/a/")!) >= 0);
});

test("maxKey picks the later key by code point", () => {
  assert.equal(maxKey("/p/", "/a"), "/p/");
  assert.equal(maxKey("\uffff", "\u{1f600}"), "\u{1f600}");
});
