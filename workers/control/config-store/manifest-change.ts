import type { Topology } from "../../../shared/manifest/topology.ts";
import type { ResourceIssue } from "../../../shared/resources/issues.ts";

const MAX_LISTED = 5;
const list = (items: string[]) =>
  items.length > MAX_LISTED
    ? `${items.slice(0, MAX_LISTED).join(", ")} and ${items.length - MAX_LISTED} more`
    : items.join(", ");

/**
 * The history note of a manifest change: which services and versions came and went, and which
 * stored resources now refer to what the manifest no longer has (bounded: it is one SQL row).
 */
export function describeManifestChange(before: Topology | undefined, after: Topology, broken: ResourceIssue[]): string {
  const parts: string[] = [];
  if (!before) parts.push("snapshots recompiled (the manifest before this one was not recorded)");
  else {
    const old = new Map(before.services.map((s) => [s.name, s]));
    const now = new Map(after.services.map((s) => [s.name, s]));
    const added = [...now.keys()].filter((n) => !old.has(n));
    const removed = [...old.keys()].filter((n) => !now.has(n));
    if (added.length) parts.push(`services added: ${list(added)}`);
    if (removed.length) parts.push(`services removed: ${list(removed)}`);
    const versions: string[] = [];
    for (const [name, s] of now) {
      const was = old.get(name);
      if (!was) continue;
      const plus = s.versions.filter((v) => !was.versions.includes(v)).map((v) => `+${v}`);
      const minus = was.versions.filter((v) => !s.versions.includes(v)).map((v) => `-${v}`);
      if (plus.length || minus.length) versions.push(`${name} ${[...plus, ...minus].join(" ")}`);
    }
    if (versions.length) parts.push(`versions: ${list(versions)}`);
    if (!before.egress !== !after.egress) parts.push(after.egress ? "egress edge added" : "egress edge removed");
    if (parts.length === 0) parts.push("calls or settings changed");
  }
  const resources = [...new Set(broken.map((b) => b.resource))];
  if (resources.length) parts.push(`refer to what the manifest no longer has: ${list(resources)}`);
  return `manifest changed: ${parts.join("; ")}`;
}
