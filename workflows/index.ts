/**
 * `workflows/`: the pure, I/O-free core shared by the edge and the gpu-workers — the spec schema,
 * the pool wire protocol, templating, graph validation, the planner and the state machines.
 */
export * from "./src/spec.js";
export * from "./src/wire.js";
export * from "./src/keep-alive.js";
export * from "./src/lease-frame.js";
export * from "./src/template.js";
export * from "./src/errors.js";
export * from "./src/inputs.js";
export * from "./src/graph/index.js";
export * from "./src/hash.js";
export * from "./src/plan.js";
export * from "./src/rerun.js";
export * from "./src/status.js";
export * from "./src/trace.js";
export * from "./src/state.js";
export * from "./src/events.js";
