import type { z } from "zod";
import type { HopRecord as HopRecordSchema } from "../control-api.ts";

/** Everything one edge decided about one request (a node of the explain tree). */
export type HopRecord = z.infer<typeof HopRecordSchema>;
