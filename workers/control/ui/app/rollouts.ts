import { esc, num, percent } from "./format.ts";

export type Rollouts = {
  items: {
    metadata: { name: string };
    spec: { targetRef: { name: string }; stable: string; canary: string; steps: number[] };
    status?: {
      phase: string;
      step: number;
      weight: number;
      message: string;
      lastAnalysis?: { requests: number; successRate: number | null; p99: number | null };
    };
  }[];
};

const phaseClass = (p: string | undefined) =>
  p === "Promoted" ? "ok" : p === "RolledBack" ? "bad" : p === "Paused" ? "warn" : "info";

export function renderRollouts(r: Rollouts): string {
  if (!r.items.length) return `<div class="empty">no rollouts</div>`;
  const rows = r.items
    .map((x) => {
      const s = x.status;
      const weight = !s ? null : s.phase === "Promoted" ? 100 : s.phase === "RolledBack" ? 0 : s.weight;
      return `<tr><td>${esc(x.metadata.name)}</td><td>${esc(`${x.spec.targetRef.name} ${x.spec.stable} → ${x.spec.canary}`)}</td><td class="${phaseClass(s?.phase)}">${esc(s?.phase ?? "pending")}</td><td class="num">${s ? `${num(s.step)}/${x.spec.steps.length}` : "–"}</td><td><span class="bar-track small"><span class="bar" style="width:${weight ?? 0}%;background:#6ea8fe"></span></span> ${percent(weight)}</td><td class="message dim">${esc(s?.message ?? "")}</td></tr>`;
    })
    .join("");
  return `<table id="rollouts-table"><tr><th>rollout</th><th>canary</th><th>phase</th><th class="num">step</th><th>weight</th><th>message</th></tr>${rows}</table>`;
}
