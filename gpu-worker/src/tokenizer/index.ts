/**
 * A small implementation of exactly the Hugging Face `tokenizer.json` subset our packages use
 * (docs/CONTRACTS.md §5): a `WordLevel` model, a `Whitespace` (or `WhitespaceSplit`)
 * pre-tokenizer, a `Lowercase` normalizer (optionally inside a `Sequence`) and added tokens.
 * Anything else is rejected with a clear error rather than silently tokenized differently.
 *
 * Why not a library: the maintained JS tokenizers (transformers.js) pull in a whole model runtime;
 * this format is ~100 lines to read exactly.
 */

export class TokenizerError extends Error {
  override name = "TokenizerError";
}

type Json = Record<string, unknown>;

// Rust regex's \w (what HF `Whitespace` uses: `\w+|[^\w\s]+`) is Unicode-aware.
const W = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}`;
const WHITESPACE_RE = new RegExp(`[${W}]+|[^${W}\\s]+`, "gu");
/** Tokens that attach to the previous word when decoding (no space before them). */
const NO_SPACE_BEFORE = new Set([",", "?", ":", "."]);

export class Tokenizer {
  private readonly idToToken: string[] = [];
  private readonly special = new Set<number>();
  private readonly added: { content: string; id: number }[];

  private constructor(
    private readonly vocab: Map<string, number>,
    private readonly unkId: number,
    private readonly lowercase: boolean,
    private readonly preTokenize: (s: string) => string[],
    added: { content: string; id: number; special: boolean }[],
  ) {
    for (const [tok, id] of vocab) this.idToToken[id] = tok;
    for (const a of added) {
      this.idToToken[a.id] = a.content;
      if (a.special) this.special.add(a.id);
    }
    this.added = [...added].sort((a, b) => b.content.length - a.content.length);
  }

  /**
   * Builds a tokenizer from parsed `tokenizer.json`.
   * @example const tok = Tokenizer.fromJSON(JSON.parse(fs.readFileSync("tokenizer.json", "utf8")));
   */
  static fromJSON(json: unknown, where = "tokenizer.json"): Tokenizer {
    const fail = (msg: string): never => {
      throw new TokenizerError(`${where}: ${msg}`);
    };
    if (!json || typeof json !== "object") fail("not a JSON object");
    const j = json as Json;
    const model = j.model as Json | undefined;
    if (!model || model.type !== "WordLevel") fail(`unsupported model type ${JSON.stringify(model?.type)} (only "WordLevel" is supported)`);
    const vocabJson = model!.vocab as Record<string, unknown> | undefined;
    if (!vocabJson || typeof vocabJson !== "object") fail("model.vocab missing");
    const vocab = new Map<string, number>();
    for (const [tok, id] of Object.entries(vocabJson!)) {
      if (!Number.isInteger(id) || (id as number) < 0) fail(`model.vocab["${tok}"] is not a non-negative integer`);
      vocab.set(tok, id as number);
    }
    const unkToken = model!.unk_token;
    if (typeof unkToken !== "string" || !vocab.has(unkToken)) fail(`model.unk_token ${JSON.stringify(unkToken)} is not in the vocab`);

    let lowercase = false;
    const normalizers = (n: unknown): void => {
      if (n == null) return;
      const t = (n as Json).type;
      if (t === "Lowercase") lowercase = true;
      else if (t === "Sequence") for (const x of ((n as Json).normalizers as unknown[]) ?? []) normalizers(x);
      else fail(`unsupported normalizer ${JSON.stringify(t)} (supported: Lowercase, Sequence)`);
    };
    normalizers(j.normalizer);

    const steps: ((s: string) => string[])[] = [];
    const pre = (p: unknown): void => {
      if (p == null) return;
      const t = (p as Json).type;
      if (t === "Whitespace") steps.push((s) => s.match(WHITESPACE_RE) ?? []);
      else if (t === "WhitespaceSplit") steps.push((s) => s.split(/\s+/u).filter(Boolean));
      else if (t === "Sequence") for (const x of ((p as Json).pretokenizers as unknown[]) ?? []) pre(x);
      else fail(`unsupported pre_tokenizer ${JSON.stringify(t)} (supported: Whitespace, WhitespaceSplit, Sequence)`);
    };
    pre(j.pre_tokenizer);
    if (steps.length === 0) fail("pre_tokenizer missing (expected Whitespace)");
    const preTokenize = (s: string) => steps.reduce<string[]>((words, step) => words.flatMap(step), [s]);

    const added = ((j.added_tokens as Json[] | undefined) ?? []).map((a) => ({
      content: String(a.content),
      id: Number(a.id),
      special: Boolean(a.special),
    }));
    return new Tokenizer(vocab, vocab.get(unkToken as string)!, lowercase, preTokenize, added);
  }

  get vocabSize(): number {
    return this.idToToken.length;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token) ?? this.added.find((a) => a.content === token)?.id;
  }

  idToTokenString(id: number): string | undefined {
    return this.idToToken[id];
  }

  /**
   * Text → token ids (no bos/eos: the runtime adds those, section 5). Unknown words map to unk.
   * @example tok.encode("What color is the circle?") // ids of what, color, is, the, circle, ?
   */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of this.splitAdded(text)) {
      if (typeof piece === "number") {
        ids.push(piece);
        continue;
      }
      const normalized = this.lowercase ? piece.toLowerCase() : piece;
      for (const word of this.preTokenize(normalized)) ids.push(this.vocab.get(word) ?? this.unkId);
    }
    return ids;
  }

  /** Token strings for ids (special tokens included). */
  tokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.idToToken[id] ?? `<${id}>`);
  }

  /**
   * Ids → text: tokens joined by a space, except before `, ? : .`; special tokens skipped by default.
   * @example tok.decode(tok.encode("what color is the circle?")) // "what color is the circle?"
   */
  decode(ids: readonly number[], { skipSpecial = true } = {}): string {
    let out = "";
    for (const id of ids) {
      if (skipSpecial && this.special.has(id)) continue;
      const t = this.idToToken[id] ?? `<${id}>`;
      out += out === "" || NO_SPACE_BEFORE.has(t) ? t : ` ${t}`;
    }
    return out;
  }

  /** Splits out added tokens (matched literally, longest first) before normalization, as HF does. */
  private splitAdded(text: string): (string | number)[] {
    if (this.added.length === 0) return [text];
    const out: (string | number)[] = [];
    let rest = text;
    outer: while (rest.length) {
      let best: { at: number; a: { content: string; id: number } } | undefined;
      for (const a of this.added) {
        const at = rest.indexOf(a.content);
        if (at >= 0 && (!best || at < best.at)) best = { at, a };
      }
      if (!best) break outer;
      if (best.at > 0) out.push(rest.slice(0, best.at));
      out.push(best.a.id);
      rest = rest.slice(best.at + best.a.content.length);
    }
    if (rest.length) out.push(rest);
    return out;
  }
}
