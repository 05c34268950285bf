/** The dashboard's script, bundled by `npm run build:ui` (scripts/lib/dashboard-bundle.ts). */
declare const script: string;
export default script;
