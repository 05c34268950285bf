import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generate } from "../../scripts/lib/gen.ts";
import {
  defaultKeyFile,
  loadOrCreateKeys,
  publicKeys,
  readKeyFile,
  retire,
  rotate,
  signingKey,
  writeKeyFile,
} from "../../scripts/lib/beacon-keys.ts";
import { BEACON_SHARDS } from "../../shared/snapshot/distribution.ts";
import { beaconKeySet, beaconVerifier, importSigningKey, signBeacon } from "../../shared/snapshot/signature.ts";

// The mesh's beacon keys (scripts/lib/beacon-keys.ts): kept private on disk, the data plane given
// public halves only, and a rotation in which every step verifies what the control plane signs.
const dir = mkdtempSync(join(tmpdir(), "isomesh-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const beacon = { version: 1, shards: new Array(BEACON_SHARDS).fill(""), mesh: "m", issuedAt: Date.now() };
/** Whether a data plane generated from `verifying` accepts what the control plane signs with `signing`'s key. */
async function accepts(verifying: ReturnType<typeof readKeyFile>, signing: ReturnType<typeof readKeyFile>) {
  const verify = beaconVerifier(beaconKeySet(JSON.stringify(publicKeys(verifying))), "m");
  const token = await signBeacon(beacon, await importSigningKey(JSON.stringify(signingKey(signing))));
  return verify(token, Date.now()).then(
    () => true,
    () => false,
  );
}

describe("the key file", () => {
  it("is created once, readable by its owner only, and read back the same", async () => {
    const path = join(dir, "keys", "m.json");
    const first = await loadOrCreateKeys(path);
    expect(first.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateKeys(path);
    expect(again).toEqual({ file: first.file, created: false });
    expect(first.file.keys[0].kid).toMatch(/^[A-Za-z0-9_-]{43}$/); // its RFC 7638 thumbprint
  });

  it("sits beside the generated configs' folder", () => {
    expect(defaultKeyFile("shop")).toBe(join(".isomesh", "keys", "shop.json"));
    expect(defaultKeyFile("shop", "/tmp/x/gen")).toBe("/tmp/x/keys/shop.json");
  });

  it("a rotation never leaves a moment when the data plane refuses what the control plane signs", async () => {
    const path = join(dir, "rotate.json");
    const { file: start } = await loadOrCreateKeys(path);
    const rotated = await rotate(start);
    writeKeyFile(path, rotated);
    expect(readKeyFile(path)).toEqual(rotated);
    expect(publicKeys(rotated).keys.map((k) => k.kid)).toEqual([start.keys[0].kid, signingKey(rotated).kid]);
    // deploy: the data plane gets old + new while the control plane still signs with the old key …
    expect(await accepts(rotated, start)).toBe(true);
    // … then the secret (set last) makes it sign with the new one.
    expect(await accepts(rotated, rotated)).toBe(true);
    // retire + deploy: only the new key verifies; the old one no longer does.
    const retired = retire(rotated);
    expect(retired.keys.map((k) => k.kid)).toEqual([signingKey(rotated).kid]);
    expect(await accepts(retired, rotated)).toBe(true);
    expect(await accepts(retired, start)).toBe(false);
  });
});

describe("isomesh gen gives the data plane public keys and identities", () => {
  const file = { keys: [] as ReturnType<typeof readKeyFile>["keys"] };
  it("every edge and inline config verifies with the key set; no private key leaves the file; each CONTROL binding names its holder", async () => {
    const { file: keys } = await loadOrCreateKeys(join(dir, "gen-keys.json"));
    file.keys = keys.keys;
    const out = join(dir, "gen");
    const mesh = generate(resolve("examples/bookinfo/mesh.yaml"), {
      outDir: out,
      beaconKeys: JSON.stringify(publicKeys(keys)),
      dataPlane: "inline",
    });
    const gateway = mesh.workers.find((w) => w.role === "gateway")!.config;
    expect(JSON.parse(gateway.vars!.BEACON_KEYS as string)).toEqual(publicKeys(keys));
    expect(gateway.services).toContainEqual(
      expect.objectContaining({ binding: "CONTROL", props: { edge: "gateway" } }),
    );
    const reviews = mesh.workers.find((w) => w.name === "reviews-v2")!;
    expect(reviews.config.services).toContainEqual(
      expect.objectContaining({ binding: "ISOMESH_CONTROL", props: { service: "reviews", version: "v2" } }),
    );
    const entry = readFileSync(resolve(join(out, reviews.config.name), reviews.config.main!), "utf8");
    expect(entry).toContain(JSON.stringify(JSON.stringify(publicKeys(keys))).slice(1, -1));
    const files = (d: string): string[] =>
      readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : [join(d, f)]));
    for (const f of files(out)) expect(readFileSync(f, "utf8"), f).not.toContain(keys.keys[0].d);
  });

  it("refuses a key set holding a private key", () => {
    expect(() =>
      generate(resolve("examples/bookinfo/mesh.yaml"), { outDir: join(dir, "gen2"), beaconKeys: JSON.stringify(file) }),
    ).toThrow(/holds a private key/);
  });
});
