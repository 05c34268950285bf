#!/usr/bin/env node
// The isomesh CLI. TypeScript sources run through tsx, so there is no build step.
import { register } from "tsx/esm/api";

register();
await import("./cli/main.ts");
