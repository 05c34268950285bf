import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, type MiniflareOptions } from "miniflare";

/**
 * A temporary folder of the mesh's own for Miniflare's scratch files. Miniflare names its folder
 * (`os.tmpdir()/miniflare-<random>`) in its constructor and removes it on dispose without waiting
 * for the removal, so a process that exits right after (`isomesh dev` on Ctrl-C, a test run) leaves
 * it behind. `within` makes Miniflare put it here; `remove` deletes it, synchronously.
 */
export function scratchDir(): { within<T>(make: () => T): T; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "isomesh-mesh-"));
  return {
    within(make) {
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = dir; // os.tmpdir() reads it on every call
      try {
        return make();
      } finally {
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A Miniflare whose scratch folder (see scratchDir) is removed, synchronously, once it is disposed. */
export function ownedMiniflare(options: MiniflareOptions): Miniflare {
  const scratch = scratchDir();
  const mf = scratch.within(() => new Miniflare(options));
  const dispose = mf.dispose.bind(mf);
  mf.dispose = async () => {
    try {
      await dispose();
    } finally {
      scratch.remove();
    }
  };
  return mf;
}
