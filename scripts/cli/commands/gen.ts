import type { Command } from "commander";
import { join } from "node:path";
import { generate } from "../../lib/gen.ts";
import { generateWithExports } from "../../lib/app-exports.ts";
import { c } from "../output.ts";
import {
  DATA_PLANE_OPTION,
  dataPlaneOption,
  MANIFEST_OPTION,
  manifestPath,
  samplingRate,
  accessLogMode,
  TRACE_SAMPLING_OPTION,
  ACCESS_LOG_OPTION,
} from "../options.ts";
import { dataPlaneKeys, KEYS_OPTION } from "./keys.ts";

export function registerGen(program: Command) {
  program
    .command("gen")
    .description("write one wrangler config per worker of the mesh (control, gateway, edges, apps)")
    .option(...MANIFEST_OPTION)
    .option("--out <dir>", "output folder", ".isomesh/gen")
    .option("--kv-id <id>", "KV namespace id for snapshots (production)")
    .option("--otlp <url>", "OTLP/HTTP collector for spans")
    .option(...TRACE_SAMPLING_OPTION)
    .option(...ACCESS_LOG_OPTION)
    .option(...DATA_PLANE_OPTION)
    .option(...KEYS_OPTION)
    .option(
      "--no-exports",
      "do not build the apps to read what they export for Workers RPC (the edges then forward every method unchecked)",
    )
    .action(
      async (o: {
        manifest?: string;
        out: string;
        kvId?: string;
        otlp?: string;
        traceSampling: string;
        accessLog: string;
        dataPlane?: string;
        exports: boolean;
        keys?: string;
      }) => {
        const keys = await dataPlaneKeys(o);
        const options = {
          outDir: o.out,
          beaconKeys: keys.beaconKeys,
          kvId: o.kvId,
          otlpEndpoint: o.otlp,
          traceSampling: samplingRate(o.traceSampling),
          accessLog: accessLogMode(o.accessLog),
          dataPlane: dataPlaneOption(o.dataPlane),
        };
        const warn = (line: string) => console.log(c.dim(`note: ${line}`));
        const mesh = o.exports
          ? await generateWithExports(manifestPath(o.manifest), options, join(o.out, "..", "build"), warn)
          : generate(manifestPath(o.manifest), options);
        console.log(`${c.green("built")} ${mesh.edgeBundle} ${c.dim("(the edge bundle every edge uploads)")}`);
        if (mesh.inlineBundle)
          console.log(
            `${c.green("built")} ${mesh.inlineBundle} ${c.dim("(the inline data plane every inline app bundles)")}`,
          );
        for (const w of mesh.workers) console.log(`${c.green("wrote")} ${w.configPath} ${c.dim(`(${w.role})`)}`);
        for (const note of mesh.notes) console.log(c.dim(`note: ${note}`));
        const control = mesh.workers.find((w) => w.role === "control")!.config.name;
        console.log(
          c.dim(
            `note: the data plane verifies config with the keys of ${keys.path}; deployed with wrangler rather than isomesh deploy, give ${control} its signing key: npx isomesh keys secret --keys ${keys.path} | npx wrangler secret put BEACON_SIGNING_KEY --name ${control}`,
          ),
        );
      },
    );
}
