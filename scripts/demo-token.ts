// Mints a JWT signed with the DEMO key (examples/bookinfo/security/demo-private-key.json), for
// trying RequestAuthentication locally: npx tsx scripts/demo-token.ts jason [role]
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { importJWK, SignJWT } from "jose";

const USAGE =
  "usage: npx tsx scripts/demo-token.ts [SUBJECT] [ROLE]   (default subject: jason; prints a 1-hour demo JWT)";
const args = process.argv.slice(2);
if (args.some((a) => a === "-h" || a === "--help")) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = args.find((a) => a.startsWith("-"));
if (unknown || args.length > 2) {
  console.error(`demo-token: ${unknown ? `unknown option ${unknown}` : "too many arguments"}\n${USAGE}`);
  process.exit(2);
}
const [sub = "jason", role] = args;
const { "//": _note, ...jwk } = JSON.parse(
  readFileSync(
    join(dirname(fileURLToPath(import.meta.url)), "../examples/bookinfo/security/demo-private-key.json"),
    "utf8",
  ),
);
const key = await importJWK(jwk, "ES256");
const token = await new SignJWT({ sub, ...(role ? { role } : {}) })
  .setProtectedHeader({ alg: "ES256", kid: jwk.kid })
  .setIssuer("https://demo.isomesh.dev")
  .setAudience("bookinfo")
  .setIssuedAt()
  .setExpirationTime("1h")
  .sign(key);
console.log(token);
