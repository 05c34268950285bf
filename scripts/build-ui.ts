// Rebuilds the dashboard's bundled script (npm run build:ui): workers/control/ui/app/ -> app.bundle.js.
import { writeFileSync } from "node:fs";
import { buildDashboardModule, DASHBOARD_BUNDLE } from "./lib/dashboard-bundle.ts";

const text = await buildDashboardModule();
writeFileSync(DASHBOARD_BUNDLE, text);
console.log(`wrote ${DASHBOARD_BUNDLE} (${Math.round(text.length / 1024)} KiB)`);
