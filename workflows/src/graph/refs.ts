/**
 * Every reference a spec makes, with where it is made. Rules iterate these instead of walking
 * the spec themselves, so adding a referencing field means changing one place.
 */
import type { Step, WorkflowSpec } from "../spec.js";
import { parseTemplate, type RefAt, type TemplateSyntaxError } from "../template.js";
import { OUTPUTS_KEY } from "./types.js";

/** Where a reference is made: the owning step (or `$outputs`), its position and the field. */
export interface RefOwner {
  /** Step id or `$outputs`. */
  key: string;
  /** Position of the owning step; outputs come after every step (`steps.length`). */
  index: number;
  /** Dotted path of the field within the step (`segments.1.text`) or the output name. */
  field: string;
}

/** A reference site: a step id (`from`, `span`) or a template reference (`image`, text). */
export type RefSite =
  | (StepIdSite & { via: "from" })
  | (StepIdSite & { via: "span" })
  | (TemplateRefSite & { via: "image" })
  | (TemplateRefSite & { via: "template" });
/** `from: <id>` or `{ span: <id> }`. */
export interface StepIdSite extends RefOwner {
  via: "from" | "span";
  stepId: string;
}
/** A `{{…}}` reference in an `image` field or a text template. */
export interface TemplateRefSite extends RefOwner {
  via: "image" | "template";
  ref: RefAt;
}

/** A template syntax error at a site. */
export type TemplateErrorSite = RefOwner & { error: TemplateSyntaxError };

function templateSites(owner: RefOwner, src: string, via: "image" | "template", out: RefSite[], errs: TemplateErrorSite[]) {
  const t = parseTemplate(src);
  for (const ref of t.refs) out.push({ ...owner, via, ref });
  for (const error of t.errors) errs.push({ ...owner, error });
}

/**
 * The references of one step.
 *
 * @example
 * stepRefs(spec.steps[1], 1).refs; // [{ key: "dock", via: "from", stepId: "see", ... }]
 */
export function stepRefs(step: Step, index: number): { refs: RefSite[]; templateErrors: TemplateErrorSite[] } {
  const refs: RefSite[] = [];
  const templateErrors: TemplateErrorSite[] = [];
  const at = (field: string): RefOwner => ({ key: step.id, index, field });
  switch (step.op) {
    case "encode":
      if (step.image !== undefined) templateSites(at("image"), step.image, "image", refs, templateErrors);
      if (step.text !== undefined) templateSites(at("text"), step.text, "template", refs, templateErrors);
      break;
    case "connect":
      refs.push({ ...at("from"), via: "from", stepId: step.from });
      break;
    case "decode":
    case "explain":
      step.segments.forEach((seg, i) => {
        if ("span" in seg) refs.push({ ...at(`segments.${i}.span`), via: "span", stepId: seg.span });
        else templateSites(at(`segments.${i}.text`), seg.text, "template", refs, templateErrors);
      });
      break;
    default: {
      const never: never = step;
      throw new Error(`unhandled op ${(never as Step).op}`);
    }
  }
  return { refs, templateErrors };
}

/**
 * All references of a spec: every step's, then the declared outputs'.
 *
 * @example
 * collectRefs(spec).refs.filter((r) => r.via === "span").map((r) => r.key); // steps with spans
 */
export function collectRefs(spec: WorkflowSpec): { refs: RefSite[]; templateErrors: TemplateErrorSite[] } {
  const refs: RefSite[] = [];
  const templateErrors: TemplateErrorSite[] = [];
  spec.steps.forEach((step, i) => {
    const r = stepRefs(step, i);
    refs.push(...r.refs);
    templateErrors.push(...r.templateErrors);
  });
  const index = spec.steps.length;
  for (const [name, src] of Object.entries(spec.outputs)) templateSites({ key: OUTPUTS_KEY, index, field: name }, src, "template", refs, templateErrors);
  return { refs, templateErrors };
}

/**
 * The step id a site refers to, if it refers to a step.
 *
 * @example
 * collectRefs(spec).refs.map(referencedStep); // ["see", "dock", "answer", ...]
 */
export function referencedStep(site: RefSite): string | undefined {
  if (site.via === "from" || site.via === "span") return site.stepId;
  return site.ref.kind === "step" ? site.ref.stepId : undefined;
}
