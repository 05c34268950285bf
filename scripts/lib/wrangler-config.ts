/** The subset of wrangler's config (wrangler.json) that `isomesh gen` writes. */
export type WranglerConfig = {
  $schema?: string;
  name: string;
  main: string;
  compatibility_date: string;
  compatibility_flags?: string[];
  workers_dev?: boolean;
  vars?: Record<string, string>;
  define?: Record<string, string>;
  kv_namespaces?: { binding: string; id: string }[];
  durable_objects?: { bindings: { name: string; class_name: string; script_name?: string }[] };
  migrations?: { tag: string; new_sqlite_classes: string[] }[];
  services?: { binding: string; service: string; entrypoint?: string; props?: Record<string, string> }[];
  observability?: { enabled: boolean };
  mtls_certificates?: { binding: string; certificate_id: string }[];
};

/** One generated worker: its role in the mesh and its config. */
export type GeneratedWorker = {
  role: "control" | "gateway" | "edge" | "egress" | "app";
  service?: string;
  version?: string;
  config: WranglerConfig;
  /** Absolute path of the entry module (config.main is relative to the config file). */
  entry: string;
  configPath: string;
};
