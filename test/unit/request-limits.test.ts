import { describe, expect, it } from "vitest";
import { exceedsNestingLimit, LIMITS, oversizedResources } from "../../shared/resources/limits.ts";
import { splitDocuments } from "../../shared/resources/parse.ts";

const aliasBomb = () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    lines.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(",")}]`,
    );
  }
  return lines.join("\n");
};

describe("admin API input limits (splitDocuments)", () => {
  it.each([
    ["a YAML alias bomb", aliasBomb(), /aliases limit/],
    ["JSON nested 10 000 deep", "[".repeat(10_000) + "]".repeat(10_000), /depth limit/],
    ["2 MiB of [ (the YAML parser would exhaust its heap)", "[".repeat(2 * 1024 * 1024), /depth limit/],
    ["YAML sequences nested on one line", "- ".repeat(10_000) + "x", /depth limit/],
    [
      "YAML maps nested by indentation",
      Array.from({ length: 40 }, (_, i) => `${" ".repeat(i)}k:`).join("\n"),
      /depth limit/,
    ],
    ["YAML flow nesting", `a: ${"[".repeat(40)}${"]".repeat(40)}`, /depth limit/],
    [
      `${LIMITS.documents + 1} YAML documents`,
      Array.from({ length: LIMITS.documents + 1 }, (_, i) => `a: ${i}`).join("\n---\n"),
      /documents limit/,
    ],
    [
      `${LIMITS.documents + 1} JSON documents`,
      JSON.stringify(Array.from({ length: LIMITS.documents + 1 }, () => ({}))),
      /documents limit/,
    ],
  ])("refuses %s, naming the limit", (_name, body, message) => {
    const { docs, errors } = splitDocuments(body);
    expect(docs).toEqual([]);
    expect(errors[0].message).toMatch(message);
  });

  it.each([
    ["a few aliases", "a: &x [1, 2]\nb: *x\n", [{ a: [1, 2], b: [1, 2] }]],
    ["31 levels", `${Array.from({ length: 30 }, (_, i) => `${" ".repeat(i)}k:`).join("\n")} 1`, undefined],
    [
      "brackets inside quoted strings and comments",
      `a: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['\nb: "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\\""  # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\nc: it's [ok`,
      undefined,
    ],
    ["a regular expression in a plain scalar", "value: ^/x[0-9]{2}$\n", [{ value: "^/x[0-9]{2}$" }]],
    [
      `${LIMITS.documents} documents`,
      Array.from({ length: LIMITS.documents }, (_, i) => `a: ${i}`).join("\n---\n"),
      undefined,
    ],
  ])("accepts %s", (_name, body, expected) => {
    const { docs, errors } = splitDocuments(body);
    expect(errors).toEqual([]);
    if (expected) expect(docs).toEqual(expected);
  });

  it("scans without a parser: 2 MiB in well under a second", () => {
    const started = Date.now();
    expect(exceedsNestingLimit("- x\n".repeat(512 * 1024))).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("names a resource over the size limit", () => {
    const big = {
      apiVersion: "isomesh.dev/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "huge" },
      spec: { rules: ["x".repeat(LIMITS.resourceBytes)] },
    };
    expect(oversizedResources([{ kind: "HTTPRoute", metadata: { name: "small" } }, big])).toEqual([
      {
        resource: "AuthorizationPolicy/huge",
        path: "",
        message: expect.stringMatching(/resource size \d+ bytes is over the limit of 262144 bytes/),
      },
    ]);
  });
});
