/**
 * Model package manifest (`manifest.json`), docs/CONTRACTS.md §5.
 *
 * The manifest is data, not code: it names every graph, its role and the KV-cache layout, so a
 * larger MetaLM exported the same way drops in without code changes. Everything the runtime reads
 * from it is validated here, once, with zod.
 */
import { z } from "zod";

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "expected a lower-case hex sha256");
const fileName = z
  .string()
  .min(1)
  .refine((f) => !f.includes("/") && !f.includes("\\") && f !== "." && f !== "..", "must be a plain file name inside the package folder");

const imageSpec = z.object({
  size: z.number().int().positive().max(4096),
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
});

const encoderBase = {
  name: z.string().min(1),
  graph: fileName,
  hiddenSize: z.number().int().positive(),
};

export const encoderSchema = z.discriminatedUnion("modality", [
  z.object({ ...encoderBase, modality: z.literal("image"), positions: z.number().int().positive(), image: imageSpec }),
  z.object({ ...encoderBase, modality: z.literal("text"), maxLength: z.number().int().positive() }),
]);

export const connectorSchema = z.object({
  name: z.string().min(1),
  encoder: z.string().min(1),
  graph: fileName,
});

export const kvCacheSchema = z.object({
  layers: z.number().int().positive(),
  heads: z.number().int().positive(),
  headDim: z.number().int().positive(),
  pastKey: z.string().includes("{i}"),
  pastValue: z.string().includes("{i}"),
  presentKey: z.string().includes("{i}"),
  presentValue: z.string().includes("{i}"),
});

export const decoderSchema = z.object({
  graph: fileName,
  embedGraph: fileName,
  vocabSize: z.number().int().positive(),
  hiddenSize: z.number().int().positive(),
  maxPositions: z.number().int().positive(),
  specialTokens: z.object({
    pad: z.number().int().nonnegative(),
    bos: z.number().int().nonnegative(),
    eos: z.number().int().nonnegative(),
    unk: z.number().int().nonnegative(),
  }),
  kvCache: kvCacheSchema,
});

export const manifestSchema = z
  .object({
    format: z.literal("metalm-package/1"),
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
    version: z.string().min(1),
    files: z.record(fileName, sha256),
    tokenizer: fileName,
    encoders: z.array(encoderSchema).min(1),
    connectors: z.array(connectorSchema),
    decoder: decoderSchema,
    prompts: z.record(z.string(), z.string()).default({}),
  })
  .superRefine((m, ctx) => {
    const need = (file: string, path: (string | number)[]) => {
      if (!(file in m.files)) ctx.addIssue({ code: "custom", path, message: `"${file}" is not listed in files (every file needs a sha256)` });
    };
    need(m.tokenizer, ["tokenizer"]);
    need(m.decoder.graph, ["decoder", "graph"]);
    need(m.decoder.embedGraph, ["decoder", "embedGraph"]);
    const encoders = new Set<string>();
    m.encoders.forEach((e, i) => {
      need(e.graph, ["encoders", i, "graph"]);
      if (encoders.has(e.name)) ctx.addIssue({ code: "custom", path: ["encoders", i, "name"], message: `duplicate encoder "${e.name}"` });
      encoders.add(e.name);
    });
    const connectors = new Set<string>();
    m.connectors.forEach((c, i) => {
      need(c.graph, ["connectors", i, "graph"]);
      if (!encoders.has(c.encoder)) ctx.addIssue({ code: "custom", path: ["connectors", i, "encoder"], message: `unknown encoder "${c.encoder}"` });
      if (connectors.has(c.name)) ctx.addIssue({ code: "custom", path: ["connectors", i, "name"], message: `duplicate connector "${c.name}"` });
      connectors.add(c.name);
    });
    const { pad, bos, eos, unk } = m.decoder.specialTokens;
    for (const [k, v] of Object.entries({ pad, bos, eos, unk })) {
      if (v >= m.decoder.vocabSize)
        ctx.addIssue({ code: "custom", path: ["decoder", "specialTokens", k], message: `token id ${v} ≥ vocabSize ${m.decoder.vocabSize}` });
    }
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type EncoderSpec = z.infer<typeof encoderSchema>;
export type ImageEncoderSpec = Extract<EncoderSpec, { modality: "image" }>;
export type ConnectorSpec = z.infer<typeof connectorSchema>;
export type KvCacheSpec = z.infer<typeof kvCacheSchema>;

/** A manifest or package file failed validation; `file` names the culprit. Never retryable. */
export class PackageError extends Error {
  override name = "PackageError";
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/**
 * Validates parsed manifest JSON.
 * @example parseManifest(JSON.parse(fs.readFileSync("manifest.json", "utf8")), "manifest.json")
 */
export function parseManifest(json: unknown, where = "manifest.json"): Manifest {
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new PackageError(`invalid ${where}:\n${lines.join("\n")}`, where);
  }
  return r.data;
}

/** Expands a KV-cache name template (`past_key_values.{i}.key`) for layer `i`. */
export function kvName(template: string, i: number): string {
  return template.replaceAll("{i}", String(i));
}
