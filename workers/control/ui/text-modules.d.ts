// HTML files are text modules (wrangler's default rule; esbuild's text loader in isomesh dev).
declare module "*.html" {
  const text: string;
  export default text;
}
