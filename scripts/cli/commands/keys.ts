import type { Command } from "commander";
import { existsSync } from "node:fs";
import {
  defaultKeyFile,
  loadOrCreateKeys,
  publicKeys,
  readKeyFile,
  retire,
  rotate,
  signingKey,
  writeKeyFile,
} from "../../lib/beacon-keys.ts";
import { loadManifest } from "../../lib/gen.ts";
import { CliError } from "../client.ts";
import { MANIFEST_OPTION, manifestPath } from "../options.ts";
import { c, printStructured, table } from "../output.ts";

export const KEYS_OPTION = [
  "--keys <file>",
  "the mesh's beacon signing keys (default: .isomesh/keys/<mesh>.json, or keys/<mesh>.json beside --out's folder; created when missing)",
] as const;

/** The key file `--keys` names, or the mesh's default one (beside `--out`'s folder). */
export function keyFilePath(o: { keys?: string; manifest?: string; out?: string }): string {
  return o.keys ?? defaultKeyFile(loadManifest(manifestPath(o.manifest)).name, o.out);
}

/** The public keys `gen` and `deploy` bake into the data plane, from the key file (created on first use). */
export async function dataPlaneKeys(o: { keys?: string; manifest?: string; out?: string }) {
  const path = keyFilePath(o);
  const { file, created } = await loadOrCreateKeys(path);
  if (created)
    console.log(
      c.dim(
        `note: created the mesh's beacon signing key in ${path}: keep it (isomesh deploy sets it as the control plane's secret)`,
      ),
    );
  return { path, file, beaconKeys: JSON.stringify(publicKeys(file)) };
}

function existing(path: string) {
  if (!existsSync(path)) throw new CliError(`no key file ${path} (isomesh gen or deploy creates one)`);
  return readKeyFile(path);
}

export function registerKeys(program: Command) {
  const keys = program
    .command("keys")
    .description("the keys the control plane signs config beacons with, and the data plane verifies them with");

  keys
    .command("list")
    .description("each key: its id, and whether it signs (the newest) or only verifies")
    .option(...MANIFEST_OPTION)
    .option(...KEYS_OPTION)
    .option("-o, --output <format>", "json or yaml (the public keys the data plane gets)")
    .action((o: { manifest?: string; keys?: string; output?: string }) => {
      const file = existing(keyFilePath(o));
      if (printStructured(o.output, publicKeys(file))) return;
      const signer = signingKey(file).kid;
      console.log(
        table(
          ["KID", "ROLE"],
          file.keys.map((k) => [k.kid, k.kid === signer ? c.green("signs and verifies") : "verifies"]),
        ),
      );
    });

  keys
    .command("secret")
    .description(
      "print the signing key as the control plane's secret takes it: pipe it to npx wrangler secret put BEACON_SIGNING_KEY --name <mesh>-control",
    )
    .option(...MANIFEST_OPTION)
    .option(...KEYS_OPTION)
    .action((o: { manifest?: string; keys?: string }) => {
      process.stdout.write(JSON.stringify(signingKey(existing(keyFilePath(o)))));
    });

  keys
    .command("rotate")
    .description("add a new key: the next deploy gives the data plane both, then makes the control plane sign with it")
    .option(...MANIFEST_OPTION)
    .option(...KEYS_OPTION)
    .action(async (o: { manifest?: string; keys?: string }) => {
      const path = keyFilePath(o);
      const next = await rotate(existing(path)).catch((e: Error) => {
        throw new CliError(e.message);
      });
      writeKeyFile(path, next);
      console.log(
        `${c.green("added")} key ${signingKey(next).kid} to ${path}: run isomesh deploy, then isomesh keys retire and deploy again`,
      );
    });

  keys
    .command("retire")
    .description("keep only the signing key: the next deploy stops the data plane from accepting the others")
    .option(...MANIFEST_OPTION)
    .option(...KEYS_OPTION)
    .action((o: { manifest?: string; keys?: string }) => {
      const path = keyFilePath(o);
      const file = existing(path);
      const kept = retire(file);
      writeKeyFile(path, kept);
      const gone = file.keys.length - kept.keys.length;
      console.log(
        gone
          ? `${c.green("retired")} ${gone} key${gone > 1 ? "s" : ""} in ${path}: run isomesh deploy`
          : `nothing to retire: ${path} holds only the signing key ${signingKey(kept).kid}`,
      );
    });
}
