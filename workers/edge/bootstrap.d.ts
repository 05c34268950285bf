// The bootstrap snapshot is a text module each edge's config adds beside the one edge bundle
// (`isomesh gen` writes it; scripts/lib/bundle.ts keeps the import external).
declare module "*.snapshot" {
  const text: string;
  export default text;
}
