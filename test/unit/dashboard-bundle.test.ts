import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildDashboardModule, DASHBOARD_BUNDLE } from "../../scripts/lib/dashboard-bundle.ts";

describe("the dashboard bundle the control worker serves", () => {
  it("is built from the current sources (run `npm run build:ui` after changing workers/control/ui/app/)", async () => {
    const committed = readFileSync(DASHBOARD_BUNDLE, "utf8");
    const fresh = await buildDashboardModule();
    expect(committed === fresh, "workers/control/ui/app.bundle.js is out of date: npm run build:ui").toBe(true);
  });

  it("carries its libraries (no CDN): Cytoscape and its dagre layout", () => {
    const script = readFileSync(DASHBOARD_BUNDLE, "utf8");
    expect(script).toContain("cytoscape");
    expect(script).toContain("dagre");
    expect(script).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs)/);
  });
});
