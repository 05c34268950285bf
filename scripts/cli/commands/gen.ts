import type { Command } from "commander";
import { generate } from "../../lib/gen.ts";
import { c } from "../output.ts";
import { MANIFEST_OPTION, manifestPath, samplingRate } from "../options.ts";

export function registerGen(program: Command) {
  program
    .command("gen")
    .description("write one wrangler config per worker of the mesh (control, gateway, edges, apps)")
    .option(...MANIFEST_OPTION)
    .option("--out <dir>", "output folder", ".isomesh/gen")
    .option("--kv-id <id>", "KV namespace id for snapshots (production)")
    .option("--otlp <url>", "OTLP/HTTP collector for spans")
    .option("--trace-sampling <rate>", "share of new traces recorded as spans, 0..1", "1")
    .action((o: { manifest?: string; out: string; kvId?: string; otlp?: string; traceSampling: string }) => {
      const mesh = generate(manifestPath(o.manifest), {
        outDir: o.out,
        kvId: o.kvId,
        otlpEndpoint: o.otlp,
        traceSampling: samplingRate(o.traceSampling),
      });
      console.log(`${c.green("built")} ${mesh.edgeBundle} ${c.dim("(the edge bundle every edge uploads)")}`);
      for (const w of mesh.workers) console.log(`${c.green("wrote")} ${w.configPath} ${c.dim(`(${w.role})`)}`);
      for (const note of mesh.notes) console.log(c.dim(`note: ${note}`));
    });
}
