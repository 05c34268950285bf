import { describe, expect, it } from "vitest";
import { docCommands } from "../helpers/doc-commands.ts";
import { NOT_RUN, SCENARIOS } from "../helpers/docs-plan.ts";

// Every command in the README and docs/ is run by test/e2e/docs-commands.test.ts, as written, or
// says why not (test/helpers/docs-plan.ts): a new command in a guide fails here until it is one
// or the other, and a command the guides dropped fails here until the plan drops it too.

const inDocs = docCommands();
const run = new Set(SCENARIOS.flatMap((s) => [s.start, ...s.steps.map((step) => step.command)]));

describe("the docs' commands", () => {
  it("are found: sh blocks, `$ ` lines and inline npx/npm/node/curl", () => expect(inDocs.length).toBeGreaterThan(80));

  it("are each run by the docs test or say why not", () => {
    const uncovered = inDocs.filter((c) => !run.has(c.command) && !(c.command in NOT_RUN));
    expect(uncovered.map((c) => `${c.file}:${c.line} ${c.command}`)).toEqual([]);
  });

  it("and the plan names no command the docs do not have", () => {
    const written = new Set(inDocs.map((c) => c.command));
    expect([...run, ...Object.keys(NOT_RUN)].filter((c) => !written.has(c))).toEqual([]);
  });
});
