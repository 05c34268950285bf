import { EGRESS, GATEWAY } from "../names.ts";
import type { Topology } from "../manifest/topology.ts";
import type { Resource } from "../resources/index.ts";
import type { ResourceIssue } from "../resources/issues.ts";

/** Every reference of every resource resolves to the manifest's gateway, services and versions. */
export function checkReferences(topology: Topology, resources: Resource[]): ResourceIssue[] {
  const services = new Map(topology.services.map((s) => [s.name, s]));
  const issues: ResourceIssue[] = [];
  const issue = (r: Resource, path: string, message: string) =>
    issues.push({ resource: `${r.kind}/${r.metadata.name}`, path, message });
  const known = [...services.keys()].join(", ");

  for (const r of resources) {
    if (r.kind === "HTTPRoute") {
      r.spec.parentRefs.forEach((p, i) => {
        if (p.kind === "Gateway" && p.name === EGRESS)
          issue(
            r,
            `spec.parentRefs[${i}].name`,
            "routes to external hosts come from ExternalService resources, not HTTPRoutes on the egress edge",
          );
        else if (p.kind === "Gateway" && p.name !== GATEWAY)
          issue(r, `spec.parentRefs[${i}].name`, `unknown gateway "${p.name}" (the mesh's gateway is "${GATEWAY}")`);
        if (p.kind === "Service" && !services.has(p.name))
          issue(r, `spec.parentRefs[${i}].name`, `unknown service "${p.name}" (known: ${known})`);
      });
      const parents = r.spec.parentRefs;
      r.spec.rules.forEach((rule, i) =>
        rule.backendRefs.forEach((b, j) => {
          const path = `spec.rules[${i}].backendRefs[${j}]`;
          for (const p of parents) {
            if (p.kind === "Gateway") {
              if (!services.has(b.name)) issue(r, `${path}.name`, `unknown service "${b.name}" (known: ${known})`);
              else if (b.version)
                issue(
                  r,
                  `${path}.version`,
                  "a gateway route names services; split versions with a route attached to the service",
                );
            } else {
              const svc = services.get(p.name);
              if (!svc) continue;
              if (b.name !== p.name)
                issue(
                  r,
                  `${path}.name`,
                  `a route attached to service "${p.name}" can only send to its versions (got "${b.name}")`,
                );
              else if (b.version && !svc.versions.includes(b.version))
                issue(
                  r,
                  `${path}.version`,
                  `unknown version "${b.version}" of service "${p.name}" (known: ${svc.versions.join(", ")})`,
                );
            }
          }
        }),
      );
      // The rule's mirrors and each backendRef's.
      const mirrorLists = r.spec.rules.flatMap((rule, i) => [
        { path: `spec.rules[${i}].filters`, filters: rule.filters },
        ...rule.backendRefs.map((b, j) => ({
          path: `spec.rules[${i}].backendRefs[${j}].filters`,
          filters: b.filters ?? [],
        })),
      ]);
      for (const list of mirrorLists)
        list.filters.forEach((f, j) => {
          if (f.type !== "RequestMirror") return;
          const b = f.requestMirror.backendRef;
          const path = `${list.path}[${j}].requestMirror.backendRef`;
          for (const p of parents) {
            const svc = p.kind === "Service" ? services.get(p.name) : services.get(b.name);
            if (!svc) issue(r, `${path}.name`, `unknown service "${b.name}"`);
            else if (p.kind === "Service" && b.version && !svc.versions.includes(b.version))
              issue(r, `${path}.version`, `unknown version "${b.version}" of service "${svc.name}"`);
          }
        });
    } else if (r.kind === "Rollout") {
      const svc = services.get(r.spec.targetRef.name);
      if (!svc) issue(r, "spec.targetRef.name", `unknown service "${r.spec.targetRef.name}" (known: ${known})`);
      else
        for (const field of ["stable", "canary"] as const)
          if (!svc.versions.includes(r.spec[field]))
            issue(
              r,
              `spec.${field}`,
              `unknown version "${r.spec[field]}" of service "${svc.name}" (known: ${svc.versions.join(", ")})`,
            );
    } else if (r.kind === "ExternalService") {
      if (!topology.egress)
        issue(
          r,
          "spec",
          "this mesh has no egress edge: give the services that call out `egress: true` in the manifest",
        );
      const cert = r.spec.tls?.clientCertificate;
      if (cert && topology.egress && !topology.egress.certificates.includes(cert))
        issue(
          r,
          "spec.tls.clientCertificate",
          `unknown client certificate binding "${cert}" (declare it in the manifest's egress.mtlsCertificates${topology.egress.certificates.length ? `; known: ${topology.egress.certificates.join(", ")}` : ""})`,
        );
    } else {
      const targets = r.spec.targetRefs;
      const gateways = topology.egress ? `"${GATEWAY}" or "${EGRESS}"` : `"${GATEWAY}"`;
      targets.forEach((t, i) => {
        if (t.kind === "Service" && !services.has(t.name))
          issue(r, `spec.targetRefs[${i}].name`, `unknown service "${t.name}" (known: ${known})`);
        if (t.kind === "Gateway" && t.name !== GATEWAY && !(t.name === EGRESS && topology.egress))
          issue(r, `spec.targetRefs[${i}].name`, `unknown gateway "${t.name}" (known: ${gateways})`);
        if (t.kind === "Gateway" && t.name === EGRESS && r.kind === "RequestAuthentication")
          issue(
            r,
            `spec.targetRefs[${i}].name`,
            "the egress edge is called by mesh apps, not end users: authenticate at the gateway and authorize egress with an AuthorizationPolicy",
          );
      });
    }
  }
  return issues;
}
