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

  async request(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any; text: string }> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        body,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body ? { "content-type": "application/yaml" } : {}),
          ...headers,
        },
      });
    } catch (e) {
      throw new CliError(
        `cannot reach the admin API at ${this.base} (${(e as Error).cause ?? (e as Error).message}); is \`isomesh dev\` running? set --admin or ISOMESH_ADMIN`,
      );
    }
    // The admin API never sets these; the data plane always does (mesh errors, routed answers).
    if (res.headers.has("x-isomesh-error") || res.headers.has("x-isomesh-backend")) {
      await res.body?.cancel();
      throw new CliError(
        `${this.base} is an isomesh gateway, not the admin API${nextPort(this.base)}; set --admin or ISOMESH_ADMIN`,
      );
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

// What the API puts in `resource` when an issue is about the request, not a resource.
const PLACEHOLDERS = new Set(["(body)", "(request)", "version"]);

/** `isomesh dev` puts the admin API on the gateway's port + 1. */
function nextPort(base: string): string {
  try {
    const u = new URL(base);
    if (!u.port) return "";
    u.port = String(Number(u.port) + 1);
    return ` (with isomesh dev it is on the next port: ${u.origin})`;
  } catch {
    return "";
  }
}

/** One issue as a line: `Kind/name path: message`; placeholders such as "(body)" or "version" are left out. */
export function describeIssue(e: { resource?: string; path?: string; message: string }): string {
  const resource = e.resource && !PLACEHOLDERS.has(e.resource) ? e.resource : "";
  const path = e.path && e.path !== e.resource && !e.message.startsWith(e.path) ? e.path : "";
  const where = [resource, path].filter(Boolean).join(" ");
  return where ? `${where}: ${e.message}` : e.message;
}

export function describeError(status: number, body: any): string {
  if (body?.errors?.length) return `${status}: ${body.errors.map(describeIssue).join("; ")}`;
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
