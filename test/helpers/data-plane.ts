import { DataPlane } from "../../shared/manifest/data-plane.ts";

/**
 * The data plane the mesh suites run in: `ISOMESH_TEST_DATA_PLANE=inline npm test` runs every
 * workers and e2e test that starts a mesh with the inline data plane (CI runs both modes). A test
 * that is about one mode's own Workers (an edge's bundle, its sockets) pins it with `gen.dataPlane`.
 */
export const TEST_DATA_PLANE: DataPlane | undefined = process.env.ISOMESH_TEST_DATA_PLANE
  ? DataPlane.parse(process.env.ISOMESH_TEST_DATA_PLANE)
  : undefined;
export const INLINE = TEST_DATA_PLANE === "inline";
