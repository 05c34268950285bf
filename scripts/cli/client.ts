const DEFAULT_ADMIN = "http://127.0.0.1:8788";

/**
 * The admin API's base URL from `--admin` or ISOMESH_ADMIN. Without a scheme (`127.0.0.1:8788`,
 * what `isomesh dev` prints as host:port) it is http, as curl reads it; anything else that is not
 * an http(s) URL is a one-line reason naming where it came from.
 */
export function adminBase(raw: string, source: string): string {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL | undefined;
  try {
    url = new URL(withScheme);
  } catch {}
  if (!url || !/^https?:$/.test(url.protocol) || !url.hostname)
    throw new CliError(`${source} is not an admin API URL: ${JSON.stringify(raw)} (e.g. ${DEFAULT_ADMIN})`);
  return url.href.replace(/\/$/, "");
}

/** Where the token came from, for a message that says which one was refused. */
type TokenSource = "--token" | "ISOMESH_TOKEN" | undefined;

const GET_A_TOKEN =
  "`isomesh dev` prints one (its `export ISOMESH_ADMIN=… ISOMESH_TOKEN=…` line; a generated one is kept in <state>/admin-token, .isomesh/admin-token by default); a deployed control plane takes the tokens of its ADMIN_TOKENS secret or an OIDC token (docs/security.md#admin-api-access)";

/** Talks to the admin API (`--admin URL --token T`, or ISOMESH_ADMIN / ISOMESH_TOKEN). */
export class AdminClient {
  constructor(
    readonly base: string,
    private readonly token: string | undefined,
    private readonly tokenSource: TokenSource = token === undefined ? undefined : "--token",
  ) {}

  static from(opts: { admin?: string; token?: string }): AdminClient {
    const env = process.env;
    const base =
      opts.admin !== undefined
        ? adminBase(opts.admin, "--admin")
        : env.ISOMESH_ADMIN
          ? adminBase(env.ISOMESH_ADMIN, "ISOMESH_ADMIN")
          : DEFAULT_ADMIN;
    if (opts.token !== undefined) return new AdminClient(base, opts.token, "--token");
    return env.ISOMESH_TOKEN
      ? new AdminClient(base, env.ISOMESH_TOKEN, "ISOMESH_TOKEN")
      : new AdminClient(base, undefined);
  }

  /**
   * A refused token as what to do: which token was sent (from where), what the API said, and how to
   * get one that works. Undefined for any other answer.
   */
  refusal(status: number, body: any): string | undefined {
    if (status !== 401 && status !== 403) return undefined;
    const said = body?.error?.message ?? (typeof body === "string" ? body.slice(0, 200) : "");
    const which = this.tokenSource ? `the token from ${this.tokenSource}` : undefined;
    if (status === 403)
      return `the admin API at ${this.base} refused ${which ?? "the request"} (403: ${said}): use an editor token for changes; ${GET_A_TOKEN}`;
    return which
      ? `the admin API at ${this.base} did not accept ${which} (401: ${said}); ${GET_A_TOKEN}`
      : `no admin token: pass --token or set ISOMESH_TOKEN; ${GET_A_TOKEN}`;
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
    throw new CliError(this.refusal(res.status, res.body) ?? describeError(res.status, res.body));
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
