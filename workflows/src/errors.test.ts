import { describe, expect, it } from "vitest";
import { deserializeError, isRetryable, NonRetryableError, RetryableError, serializeError } from "./errors.js";
import { WireErrorSchema } from "./wire.js";

describe("errors", () => {
  it("serializes typed errors to the fixed wire fields", () => {
    const e = new NonRetryableError("bad_shape", "expected 128", { expected: 128 });
    expect(serializeError(e)).toEqual({ code: "bad_shape", message: "expected 128", retryable: false, details: { expected: 128 } });
    expect(JSON.parse(JSON.stringify(e))).toEqual(serializeError(e));
    expect(e.name).toBe("NonRetryableError");
    expect(WireErrorSchema.parse(serializeError(e))).toEqual(serializeError(e));
  });

  it("round-trips through the wire to the same class", () => {
    for (const e of [new RetryableError("lost", "gone"), new NonRetryableError("bad", "no", [1])]) {
      const back = deserializeError(JSON.parse(JSON.stringify(serializeError(e))));
      expect(back.constructor).toBe(e.constructor);
      expect(serializeError(back)).toEqual(serializeError(e));
    }
  });

  it("unknown errors are internal and retryable", () => {
    expect(serializeError(new TypeError("boom"))).toEqual({ code: "internal", message: "boom", retryable: true });
    expect(serializeError("str")).toEqual({ code: "internal", message: "str", retryable: true });
    expect(isRetryable(new NonRetryableError("x", "y"))).toBe(false);
  });
});
