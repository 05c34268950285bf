import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import * as z from "zod/mini";
import { type BeaconKeySet, SigningJwk } from "../../shared/snapshot/signature.ts";

/**
 * The mesh's beacon keys, as a file only the operator reads (mode 0600): Ed25519 private JWKs,
 * oldest first. The newest signs (the control plane's `BEACON_SIGNING_KEY` secret); every one in
 * the file verifies (the data plane's `BEACON_KEYS`), so a rotation first ships the next key to the
 * data plane and only then signs with it (docs/control-plane.md, Beacon keys).
 */
export const KeyFile = z.strictObject({ keys: z.array(SigningJwk).check(z.minLength(1), z.maxLength(8)) });
export type KeyFile = z.infer<typeof KeyFile>;

/** Where `isomesh gen`/`deploy`/`keys` keep a mesh's keys unless `--keys` says otherwise: beside the generated configs' folder. */
export const defaultKeyFile = (mesh: string, genDir = join(".isomesh", "gen")) =>
  join(dirname(genDir), "keys", `${mesh}.json`);
/** Where `isomesh dev` keeps them: in its state folder, with the config they sign. */
export const devKeyFile = (state: string) => join(state, "beacon-keys.json");
/** The control worker's secret holding the signing key. */
export const SIGNING_SECRET = "BEACON_SIGNING_KEY";

/** A new Ed25519 key pair as a private JWK named by its RFC 7638 thumbprint. */
export async function newSigningKey(): Promise<z.infer<typeof SigningJwk>> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });
  return SigningJwk.parse({ kty: "OKP", crv: "Ed25519", x: jwk.x, d: jwk.d, kid, alg: "EdDSA", use: "sig" });
}

export function readKeyFile(path: string): KeyFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const parsed = KeyFile.safeParse(json);
  if (!parsed.success)
    throw new Error(`${path}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

export function writeKeyFile(path: string, file: KeyFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(KeyFile.parse(file), null, 2) + "\n", { mode: 0o600 });
  chmodSync(path, 0o600); // writeFileSync's mode applies only to a file it creates
}

/** The key file at `path`, created with one new key when there is none (`created` says so). */
export async function loadOrCreateKeys(path: string): Promise<{ file: KeyFile; created: boolean }> {
  if (existsSync(path)) return { file: readKeyFile(path), created: false };
  const file = { keys: [await newSigningKey()] };
  writeKeyFile(path, file);
  return { file, created: true };
}

/** What the data plane holds: every key's public half. */
export const publicKeys = (file: KeyFile): BeaconKeySet => ({
  keys: file.keys.map(({ d: _private, ...key }) => key),
});

/** The control plane's signing key: the newest. */
export const signingKey = (file: KeyFile) => file.keys[file.keys.length - 1];

/** Adds a new key: the next deploy ships it to the data plane beside the others, then signs with it. */
export async function rotate(file: KeyFile): Promise<KeyFile> {
  if (file.keys.length >= 8) throw new Error("8 keys already: retire the old ones first (isomesh keys retire)");
  return { keys: [...file.keys, await newSigningKey()] };
}

/** Keeps only the signing key: the next deploy stops the data plane from accepting the others. */
export const retire = (file: KeyFile): KeyFile => ({ keys: [signingKey(file)] });
