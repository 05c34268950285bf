// `cloudflare:workers` for in-process tests (aliased in vitest.config.ts for the unit project):
// the base classes keep ctx and env as workerd's do, so a Durable Object or an entrypoint can be
// constructed in Node with a test ctx (see durable-object.ts) and its methods called directly.

export class DurableObject<Env = unknown> {
  constructor(
    protected readonly ctx: DurableObjectState,
    protected readonly env: Env,
  ) {}
}

export class WorkerEntrypoint<Env = unknown> {
  constructor(
    protected readonly ctx: ExecutionContext,
    protected readonly env: Env,
  ) {}
}
