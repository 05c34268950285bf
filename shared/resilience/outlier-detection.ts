import * as z from "zod/mini";
import type { TrafficPolicySpec } from "../resources/traffic-policy.ts";

/** A TrafficPolicy's outlierDetection as edges run it: the resource's own fields, durations in ms. */
export const CompiledOutlierDetection = z.object({
  consecutiveErrors: z.number(),
  interval: z.number(),
  baseEjectionTime: z.number(),
  maxEjectionPercent: z.number(),
});
export type CompiledOutlierDetection = z.infer<typeof CompiledOutlierDetection>;

export const compileOutlierDetection = (
  o: z.output<typeof TrafficPolicySpec>["outlierDetection"],
): CompiledOutlierDetection | undefined => o;

export const OUTLIER_FLAGS = { circuit_open: "every backend is ejected by outlier detection (503)" } as const;

export type BreakerState = "closed" | "open" | "half-open";

/** Which backends a request may use now: the rest are ejected; `probing` is offered to this request as the one half-open probe. */
export type Admission = { usable: string[]; open: string[]; probing?: string };

type Host = { consecutive: number; ejections: number; ejectedUntil: number; probing: boolean; lastEjectionAt: number };

/**
 * Outlier detection per backend (Envoy's consecutive 5xx / gateway errors): after N errors in a
 * row a backend is ejected for baseEjectionTime × (times ejected); when that time is up it is
 * half-open and gets one probe; a success closes it, a failure ejects it again for longer.
 * At most maxEjectionPercent of the backends are ejected at once.
 */
export class OutlierDetector {
  private readonly hosts = new Map<string, Host>();

  constructor(private readonly config: CompiledOutlierDetection) {}

  state(backend: string, now: number): BreakerState {
    const h = this.hosts.get(backend);
    if (!h || h.ejectedUntil === 0) return "closed";
    return now < h.ejectedUntil ? "open" : "half-open";
  }

  /**
   * The backends that may take a request now. An open backend is skipped; a half-open one is
   * offered to exactly one request at a time (the probe).
   */
  available(backends: string[], now: number): Admission {
    const open: string[] = [];
    const usable: string[] = [];
    let probing: string | undefined;
    for (const b of backends) {
      const s = this.state(b, now);
      if (s === "closed") usable.push(b);
      else if (s === "half-open" && !this.hosts.get(b)!.probing && !probing) {
        probing = b;
        usable.push(b);
      } else open.push(b);
    }
    return { usable, open, probing };
  }

  /** Marks the start of a half-open probe so no other request probes concurrently. */
  startProbe(backend: string): void {
    const h = this.hosts.get(backend);
    if (h) h.probing = true;
  }

  /** Records one response (or connection failure as status 502/503/504) of a backend. */
  record(backend: string, status: number, now: number, all: string[]): void {
    const h = this.hosts.get(backend) ?? {
      consecutive: 0,
      ejections: 0,
      ejectedUntil: 0,
      probing: false,
      lastEjectionAt: 0,
    };
    this.hosts.set(backend, h);
    const failed = status >= 500;
    if (!failed) {
      h.consecutive = 0;
      if (h.ejectedUntil !== 0 && now >= h.ejectedUntil) {
        h.ejectedUntil = 0; // probe succeeded: close
        h.probing = false;
      }
      // Ejection count decays once a backend has stayed healthy for an interval.
      if (
        h.ejections > 0 &&
        h.ejectedUntil === 0 &&
        now - h.lastEjectionAt > this.config.interval + this.config.baseEjectionTime * h.ejections
      )
        h.ejections--;
      return;
    }
    h.consecutive++;
    const probeFailed = h.ejectedUntil !== 0 && now >= h.ejectedUntil;
    if (
      probeFailed ||
      (h.ejectedUntil === 0 && h.consecutive >= this.config.consecutiveErrors && this.canEject(all, now))
    ) {
      h.ejections++;
      h.ejectedUntil = now + this.config.baseEjectionTime * h.ejections;
      h.lastEjectionAt = now;
      h.probing = false;
      h.consecutive = 0;
    }
  }

  private canEject(all: string[], now: number): boolean {
    const ejected = all.filter((b) => this.state(b, now) !== "closed").length;
    const max = Math.max(1, Math.floor((all.length * this.config.maxEjectionPercent) / 100));
    return ejected < max;
  }
}
