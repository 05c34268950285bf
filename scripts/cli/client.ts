/** Talks to the admin API (`--admin URL --token T`, or ISOMESH_ADMIN / ISOMESH_TOKEN). */
export class AdminClient {
  constructor(
    readonly base: string,
    private readonly token: string | undefined,
  ) {}

  static from(opts: { admin?: string; token?: string }): AdminClient {
    const base = opts.admin ?? process.env.ISOMESH_ADMIN ?? "http://127.0.0.1:8788";
    return new AdminClient(base.replace(/\/$/, ""), opts.token ?? process.env.ISOMESH_TOKEN);
  }

  async request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string }> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        body,
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body ? { "content-type": "application/yaml" } : {}), ...headers },
      });
    } catch (e) {
      throw new CliError(`cannot reach the admin API at ${this.base} (${(e as Error).cause ?? (e as Error).message}); is \`isomesh dev\` running? set --admin or ISOMESH_ADMIN`);
    }
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed, text };
  }

  /** Like request, but a non-2xx answer becomes a one-line CliError. */
  async call(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<any> {
    const res = await this.request(method, path, body, headers);
    if (res.status >= 200 && res.status < 300) return res.body;
    throw new CliError(describeError(res.status, res.body));
  }
}

export function describeError(status: number, body: any): string {
  if (body?.errors?.length) return `${status}: ${body.errors.map((e: any) => `${e.resource}${e.path ? ` ${e.path}` : ""}: ${e.message}`).join("; ")}`;
  if (body?.error) return `${status} ${body.error.code}: ${body.error.message}`;
  return `${status}: ${typeof body === "string" ? body.slice(0, 200) : JSON.stringify(body)}`;
}

/** An expected failure: printed as one line, exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
