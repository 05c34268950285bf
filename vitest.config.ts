import { defineConfig } from "vitest/config";

// Suites: pure logic, real workers in workerd (Miniflare), the CLI's local mesh over HTTP, the dashboard in Chromium, and scale.
export default defineConfig({
  test: {
    // Each run's temporary files in a folder of its own; the run fails if a test leaves any behind.
    globalSetup: ["test/helpers/temp-guard.ts"],
    projects: [
      // Durable Objects run in process too: `cloudflare:workers` is a stand-in (test/helpers/cloudflare-workers.ts).
      {
        resolve: {
          alias: { "cloudflare:workers": new URL("test/helpers/cloudflare-workers.ts", import.meta.url).pathname },
        },
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          // Worker threads start faster than forked processes, and files share each thread's module
          // graph instead of importing it again (about 4× faster): unit files are in-process code that
          // must leave no global behind (restore timers and stubbed globals in afterEach/afterAll).
          pool: "threads",
          isolate: false,
        },
      },
      {
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two files at a time: each starts its own mesh, on ports workerd picks, under its own state folder.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two files at a time, as above: every `isomesh dev` runs on ports it picks, with its own --state.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      // Team-sized meshes (100 services, 302 workers) in Chromium: its own project, which CI runs after npm test.
      {
        test: {
          name: "scale",
          include: ["test/scale/**/*.test.ts"],
          environment: "node",
          testTimeout: 300_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
