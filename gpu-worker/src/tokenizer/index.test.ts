import { describe, expect, it } from "vitest";
import { Tokenizer, TokenizerError } from "./index.js";

const words = ["[PAD]", "[BOS]", "[EOS]", "[UNK]", "question", ":", "what", "color", "is", "the", "circle", "?", "answer", "red", ",", "a", "on", "left", "."];
export const tinyTokenizerJson = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: ["[PAD]", "[BOS]", "[EOS]", "[UNK]"].map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  })),
  normalizer: { type: "Lowercase" },
  pre_tokenizer: { type: "Whitespace" },
  post_processor: null,
  decoder: null,
  model: { type: "WordLevel", vocab: Object.fromEntries(words.map((w, i) => [w, i])), unk_token: "[UNK]" },
};

describe("Tokenizer (HF WordLevel tokenizer.json)", () => {
  const tok = Tokenizer.fromJSON(tinyTokenizerJson);

  it("encodes with lowercase + \\w+|[^\\w\\s]+ splitting", () => {
    expect(tok.tokens(tok.encode("Question: What COLOR is the circle?"))).toEqual(["question", ":", "what", "color", "is", "the", "circle", "?"]);
  });

  it("maps unknown words to unk", () => {
    expect(tok.encode("what zebra")).toEqual([6, 3]);
  });

  it("round-trips text through encode/decode (no space before , ? : .)", () => {
    for (const s of ["question: what color is the circle? answer: red", "a red circle, a circle on the left.", "what"]) {
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it("groups punctuation runs like the Rust regex and skips special tokens when decoding", () => {
    expect(tok.tokens(tok.encode("circle?."))).toEqual(["circle", "[UNK]"]); // "?." is one (unknown) pre-token
    expect(tok.decode([1, 13, 2])).toBe("red");
    expect(tok.decode([1, 13, 2], { skipSpecial: false })).toBe("[BOS] red [EOS]");
  });

  it("splits added tokens out of raw text", () => {
    expect(tok.encode("red[EOS]")).toEqual([13, 2]);
  });

  it("rejects unsupported formats with clear errors", () => {
    expect(() => Tokenizer.fromJSON({ ...tinyTokenizerJson, model: { type: "BPE", vocab: {}, merges: [] } })).toThrow(/unsupported model type "BPE"/);
    expect(() => Tokenizer.fromJSON({ ...tinyTokenizerJson, normalizer: { type: "NFD" } })).toThrow(TokenizerError);
    expect(() => Tokenizer.fromJSON({ ...tinyTokenizerJson, pre_tokenizer: { type: "ByteLevel" } })).toThrow(/unsupported pre_tokenizer "ByteLevel"/);
    expect(() => Tokenizer.fromJSON({ ...tinyTokenizerJson, model: { type: "WordLevel", vocab: { a: 0 }, unk_token: "[UNK]" } })).toThrow(/unk_token/);
    expect(() => Tokenizer.fromJSON("nope")).toThrow(/not a JSON object/);
  });

  it("accepts Sequence normalizers and pre-tokenizers", () => {
    const t = Tokenizer.fromJSON({
      ...tinyTokenizerJson,
      normalizer: { type: "Sequence", normalizers: [{ type: "Lowercase" }] },
      pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Whitespace" }] },
    });
    expect(t.encode("RED")).toEqual([13]);
  });
});
